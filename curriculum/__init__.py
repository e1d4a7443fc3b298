"""Curricula: typed stage configs (``curriculum.config``) and the YAML files that fill them."""

from curriculum.config import (
                               AgentConfig,
                               ConfigError,
                               CurriculumConfig,
                               GraduationConfig,
                               PPOConfig,
                               StageConfig,
                               check_curriculum_envs,
                               check_stage_env_ids,
                               from_dict,
                               load_curriculum,
)

__all__ = ["AgentConfig", "ConfigError", "CurriculumConfig", "GraduationConfig", "PPOConfig", "StageConfig",
           "check_curriculum_envs", "check_stage_env_ids", "from_dict", "load_curriculum"]
