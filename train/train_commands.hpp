#pragma once
// train and config: registered by add_train_commands (train/cli_common.hpp).
