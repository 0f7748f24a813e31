"""The incentive service: subsidies, rewards and promotions."""
