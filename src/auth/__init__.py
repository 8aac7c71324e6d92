"""Every way a request is authenticated, and the one Viewer each of them yields."""
