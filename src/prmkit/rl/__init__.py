"""Reinforcement learning for math reasoning: GRPO, outcome PPO and step-by-step PPO with PRM rewards.

Trainers: ``prmkit.rl.grpo.train_grpo`` and ``prmkit.rl.ppo.train_ppo`` (``prmkit rl grpo`` / ``prmkit rl
ppo``); reward functions: ``prmkit.rl.rewards``. Nothing heavy is imported here.
"""
