"""Share price drops (降价拍): each counted share lowers the price by a fixed step."""
