"""The functions RQ calls, by dotted name from the API: each hands its ids to the domain."""
