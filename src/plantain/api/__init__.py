"""HTTP only: auth, routing, request bodies and replies; one router per wire dialect."""
