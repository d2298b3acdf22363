"""Analytics: scores compared across locations, brands and competitors, with their uncertainty."""
