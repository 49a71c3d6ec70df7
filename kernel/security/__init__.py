"""Security primitives: token hashing, the cookie secret, signed cookies and XSRF tokens."""
