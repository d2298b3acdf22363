"""The Fieldscore API contract: msgspec Structs shared by the backend and the tests."""
