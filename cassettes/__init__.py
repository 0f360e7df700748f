"""The shipped cassette library, installed as the package data ``oa_mockserver.cassettes``.

Use :func:`oa_mockserver.library_path` to find it; see README.md beside this file.
"""
