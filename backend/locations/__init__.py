"""Brands, each organisation's own/competitor relation to them, and locations."""
