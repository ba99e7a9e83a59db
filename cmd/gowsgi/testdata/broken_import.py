"""A module whose import fails inside: the server must show the traceback."""
import module_that_does_not_exist  # noqa: F401

app = None
