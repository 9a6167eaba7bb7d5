"""Group buys: tiered (团购拍) and fixed-size groups (拼团)."""
