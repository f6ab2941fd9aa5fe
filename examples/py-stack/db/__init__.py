"""The store: the only package that holds rows. Only domain may import it."""
