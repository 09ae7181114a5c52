// xseq eval, average and report (registered by add_eval_commands in
// train/cli_common.hpp), and averaging as a library call.
#pragma once

#include "train/averaging.hpp"
