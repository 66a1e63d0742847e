"""A mock of the national public-service portal (Cổng Dịch vụ công quốc gia, DVCQG).

A separate app with its own store, used in demos and tests; it is not part of the
platform and the platform reaches it only over its DVCQG-like API.
"""
