#!/usr/bin/env bash
# verl PPO with Math-Shepherd's step-by-step rewards from a prmkit PRM: each step's PRM score on the
# response token that ends the step (a dense token-level reward), through prmkit's `prmkit_step` reward
# manager in verl's reward loop (prmkit.rl.verl_manager). The same rewards as
# `prmkit rl ppo --mode step`, at verl's scale.
#
# Recipe: Math-Shepherd (Wang et al., arXiv 2312.08935; ALGORITHMS.md): PPO with GAE, the PRM's score
# of each step as that step's reward (--step-transform raw, the paper's literal reading), KL coefficient
# 0.04, learning rate 4e-7 with cosine decay (quoted for LLaMA2-7B; the Mistral-7B rate is unconfirmed,
# and the paper's floor of 1e-8 is not set here), MATH/GSM8K train. The paper does not give GAE's
# gamma/lambda, the clip ratio or the value model: verl's defaults stand in.
#
# Resources and cost (estimates, not measured by prmkit; no GPU was lent to run it):
# - policy and critic: one node with 8 x 80 GB GPUs, FSDP, vLLM rollout with tensor parallel 2.
# - PRM: in-process on each reward worker (PRM=runs/prm, any prmkit-loadable folder), or `prmkit serve`
#   on another GPU (PRM_URL=http://PRM_HOST:8000), which batches the workers' requests.
#
# Checked on CPU by `make test-verl` (tests/rl/test_verl_real.py): the manager's placement on a
# DataProto, through verl's reward-loop calls, against prmkit's own step rewards.
set -euo pipefail

MODEL=${MODEL:-/models/Mistral-7B-MetaMath}
DATA=${DATA:-data}
PRM=${PRM:-runs/prm}
PRM_URL=${PRM_URL:-}
TRANSFORM=${TRANSFORM:-raw}
NGPUS=${NGPUS:-8}
TP=${TP:-2}
MANAGER_FILE=$(python -c "import prmkit.rl.verl_manager as m; print(m.__file__)")
if [[ -n "${PRM_URL}" ]]; then PRM_SETTING="++reward.reward_kwargs.url='${PRM_URL}'"; else PRM_SETTING="++reward.reward_kwargs.prm='${PRM}'"; fi

python3 -m verl.trainer.main_ppo \
    algorithm.adv_estimator=gae \
    algorithm.use_kl_in_reward=True \
    algorithm.kl_ctrl.kl_coef=0.04 \
    data.train_files="${DATA}/math_train.parquet" \
    data.val_files="${DATA}/math_test.parquet" \
    data.train_batch_size=128 \
    data.max_prompt_length=1024 \
    data.max_response_length=1024 \
    actor_rollout_ref.model.path="${MODEL}" \
    actor_rollout_ref.actor.optim.lr=4e-7 \
    actor_rollout_ref.actor.optim.lr_scheduler_type=cosine \
    actor_rollout_ref.actor.ppo_mini_batch_size=64 \
    actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4 \
    actor_rollout_ref.rollout.name=vllm \
    actor_rollout_ref.rollout.n=1 \
    actor_rollout_ref.rollout.tensor_model_parallel_size="${TP}" \
    actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=8 \
    actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=8 \
    critic.model.path="${MODEL}" \
    critic.optim.lr=1e-5 \
    critic.ppo_micro_batch_size_per_gpu=4 \
    reward.reward_manager.source=importlib \
    reward.reward_manager.name=prmkit_step \
    ++reward.reward_manager.module.path="${MANAGER_FILE}" \
    "${PRM_SETTING}" \
    ++reward.reward_kwargs.step_transform="${TRANSFORM}" \
    trainer.logger="['console']" \
    trainer.project_name=prmkit_math_shepherd \
    trainer.experiment_name="$(basename "${MODEL}")-step-ppo" \
    trainer.n_gpus_per_node="${NGPUS}" \
    trainer.nnodes=1 \
    trainer.total_training_steps=200 \
    "$@"
