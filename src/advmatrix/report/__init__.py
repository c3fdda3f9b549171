"""Reports for people and machines: SARIF for scanner findings (more formats join later)."""
