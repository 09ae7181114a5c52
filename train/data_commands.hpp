#pragma once
// data make and data stats: registered by add_data_commands (train/cli_common.hpp).
