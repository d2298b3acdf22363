"""Accounts: organisations, users and roles, shopper profiles, login tokens, guards."""
