"""gunicorn settings of the lhs coordinator: ``gunicorn -c gunicorn.conf.py``.

gunicorn listens on loopback only; nginx in front terminates TLS (``nginx-lhs-coordinator.conf``).
Command-line options override what is set here (the deploy smoke test moves ``bind`` and the
logs into a temporary folder that way).
"""

import multiprocessing

wsgi_app = "coordinator:create_app()"
proc_name = "lhs-coordinator"

# Loopback only: nothing but nginx on this machine may talk plain HTTP to the service.
bind = "127.0.0.1:8700"

# A poll costs about 5 ms of CPU and waits on PostgreSQL: two workers a core, sync workers
# (no thread shares an SQLAlchemy session), recycled now and then to bound memory.
workers = 2 * multiprocessing.cpu_count() + 1
worker_class = "sync"
max_requests = 2000
max_requests_jitter = 200

# An upload is re-audited (an LP) before it is stored: allow well over a second a request.
timeout = 60
graceful_timeout = 30
keepalive = 5

# Never preload: each worker opens its own database connections after the fork.
preload_app = False

# Requests come from nginx on this machine only.
forwarded_allow_ips = "127.0.0.1"

# Files rotated by logrotate (lhs-coordinator.logrotate), which sends USR1 to reopen them.
accesslog = "/var/log/lhs-coordinator/access.log"
errorlog = "/var/log/lhs-coordinator/error.log"
loglevel = "info"
access_log_format = '%({x-forwarded-for}i)s %(t)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s"'
