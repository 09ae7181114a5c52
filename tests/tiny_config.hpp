// The smallest config that trains a real model (copy over 6 letters, a 1+1 layer
// Transformer of width 32) in well under a second, for tests of the trainer and
// the command line around it; tests change what they need with overrides.
#pragma once

namespace xseq::test {

inline const char* kTinyCopyConfig = R"([data]
task = "copy"
task_train = 300
task_valid = 30
task_test = 30
task_min_len = 2
task_max_len = 6
task_alphabet = "abcdef"
max_len = 12
[model]
d_model = 32
heads = 2
ff_dim = 64
encoder_layers = 1
decoder_layers = 1
dropout = 0.1
[train]
batch_size = 16
max_steps = 40
valid_every = 10
checkpoint_every = 10
log_every = 5
threads = 1
)";

}  // namespace xseq::test
