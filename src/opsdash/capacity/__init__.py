"""Looking ahead: how many staff the coming work needs (Erlang C and A for contact centres)."""
