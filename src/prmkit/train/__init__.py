"""Training: the synthetic policy (``policy``), PRMs and ORMs (``prm``), and the shared causal-LM loop
(``loop``); their settings in ``policy_config`` and ``prm_config``."""
