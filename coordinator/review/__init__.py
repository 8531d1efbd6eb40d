"""Query review: specs submitted by researchers, approved or rejected with a reason."""
