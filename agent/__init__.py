"""The infant's learner: PPO (or RecurrentPPO) over a shared CNN encoder, trained through a curriculum."""
