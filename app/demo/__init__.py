"""Demo data: a believable organisation for newcomers to meet the product."""
