"""lhs node: runs approved query specs on a provider's own extract."""
