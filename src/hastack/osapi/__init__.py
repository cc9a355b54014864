"""OpenStack API operations (registration at deploy, the guide's checks at verify)."""
