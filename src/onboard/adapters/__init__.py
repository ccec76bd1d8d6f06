"""Storage and the outside world, behind the interfaces the use cases name."""
