"""zmigrate: move data into and out of Zoho CRM, Books and Inventory at the quota ceiling."""

__version__ = "0.1.0"
