"""fleet_api."""
