"""Photos, receipts and audio uploaded apart from reports, stored once by content hash."""
