// The training loop as a Trainer whose methods each do one job: set up (or
// resume) the run, one update, progress logging, validation, checkpoints and
// the final test. The run's progress lives in one RunState. Everything that
// depends on the number of ranks goes through parallel_ (DataParallel,
// train/distributed_training.hpp): with one process it changes nothing.
#include "train/trainer.hpp"

#include <nlohmann/json.hpp>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "framework/ema.hpp"
#include "framework/h5_attributes.hpp"
#include "framework/parallel.hpp"
#include "framework/precision.hpp"
#include "train/averaging.hpp"
#include "train/distributed_training.hpp"
#include "eval/evaluation.hpp"
#include "train/run_files.hpp"

namespace xseq {
namespace {

using Clock = std::chrono::steady_clock;

std::atomic<int> g_stop_signal{0};
extern "C" void on_stop_signal(int signal) { g_stop_signal = signal; }

// SIGINT (Ctrl-C) and SIGTERM (timeout, Docker, Slurm) ask the loop to stop at
// the next update boundary; the previous handlers come back afterwards.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal = 0;
    previous_int_ = std::signal(SIGINT, on_stop_signal);
    previous_term_ = std::signal(SIGTERM, on_stop_signal);
  }
  ~StopSignals() {
    std::signal(SIGINT, previous_int_);
    std::signal(SIGTERM, previous_term_);
  }
  int received() const { return g_stop_signal; }

 private:
  void (*previous_int_)(int) = SIG_DFL;
  void (*previous_term_)(int) = SIG_DFL;
};

// train.precision on this CPU (a ConfigError naming the file when bf16 is missing).
Precision configured_precision(const Config& config) {
  try {
    return xseq::training_precision(config.train.precision, "train.precision");
  } catch (const Error& e) {
    throw ConfigError(config.source + ": " + e.what());
  }
}

bool higher_is_better(const std::string& metric) { return metric != "loss"; }

// Six significant digits, as the log has always shown them (NaN stays NaN: null in JSON).
double round6(double v) {
  if (!std::isfinite(v)) return v;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return std::strtod(buf, nullptr);
}

std::string format_duration(double seconds) {
  char buf[32];
  const int s = static_cast<int>(seconds + 0.5);
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", s / 3600, (s / 60) % 60);
  else std::snprintf(buf, sizeof buf, "%dm%02ds", s / 60, s % 60);
  return buf;
}

std::string metrics_text(const std::map<std::string, double>& metrics) {
  std::ostringstream line;
  char number[32];
  for (const auto& [k, v] : metrics) {
    std::snprintf(number, sizeof number, "%.6g", v);
    line << " " << k << " " << (std::isfinite(v) ? number : "null");
  }
  return line.str();
}

// What the run has done so far: saved in every checkpoint, restored by --resume.
struct RunState {
  std::int64_t step = 0, bad_validations = 0, last_saved_step = 0;
  double best = 0;
  double loss_average = 0;  ///< running average of update losses (divergence check); 0 = none yet
  double lr_scale = 1;      ///< schedule plateau: the factor the rate has been lowered by
  std::int64_t plateau_bad = 0;  ///< validations without improvement since the rate last changed
};

class Trainer {
 public:
  Trainer(const Config& config, const TrainOptions& options);
  TrainResult run();

 private:
  void say(const std::string& line) const;
  void log(const nlohmann::ordered_json& line);
  void check_same_job() const;
  std::unique_ptr<H5File> open_start_checkpoint(std::unique_ptr<TextPipeline>& pipeline) const;
  void restore(const H5File& checkpoint);
  void initialize_from(const H5File& checkpoint);
  void keep_step_checkpoint();
  void update_plateau(bool improved, std::ostringstream& line);
  std::map<std::string, double> test_checkpoint(const std::string& path);
  void average_and_test();
  // One update: gradients of this update's batches, the loss check, the optimizer step.
  bool train_step();
  double accumulate_gradients();
  std::string check_loss(double step_loss) const;
  void apply_update(double step_loss);
  void log_progress(float lr, double grad_norm);
  // The loop around it: when to stop, validate and save.
  std::string stop_reason(const StopSignals& signals) const;
  bool after_update();
  bool validate();
  void save(const std::string& path);
  void save_last();
  void save_best(std::ostringstream& line, double value);
  // The end of the run.
  TrainResult finish(int signal);
  TrainResult stop_with_error(const std::string& what);

  const Config& config_;
  const TrainConfig& tc_;
  const TrainOptions& options_;
  DataParallel parallel_;
  const std::filesystem::path dir_;
  const std::string last_path_, best_path_;
  const bool quiet_;  ///< no terminal output (options.quiet, or not rank 0)
  const bool tty_;
  const Precision precision_;  ///< of the training products (train.precision on this CPU)
  std::unique_ptr<PreparedData> data_;
  std::shared_ptr<Seq2SeqModel> model_;
  std::unique_ptr<Optimizer> optimizer_;
  Schedule schedule_;
  std::unique_ptr<BatchIterator> batches_;
  std::unique_ptr<ExponentialMovingAverage> ema_;
  std::vector<Variable> params_;
  RunLog log_;
  RunState state_;
  TrainResult result_;
  // The progress window: what the next log line averages over.
  Clock::time_point start_, window_start_;
  double window_tokens_ = 0, window_loss_ = 0, window_sum_ms_ = 0, window_wait_ms_ = 0;
  std::int64_t window_steps_ = 0, first_step_ = 0;
  int agreed_signal_ = 0;  ///< more than one rank: a stop signal any rank got, known to all
  bool stopped_by_callback_ = false;  ///< options.on_log returned false
  std::int64_t validated_step_ = -1;  ///< the step of the last validation
  bool agreed_out_of_time_ = false;   ///< more than one rank: some rank passed train.max_minutes
  bool out_of_time() const {
    return tc_.max_minutes > 0 && std::chrono::duration<double>(Clock::now() - start_).count() >= 60.0 * tc_.max_minutes;
  }
};

Trainer::Trainer(const Config& config, const TrainOptions& options)
    : config_(config),
      tc_(config.train),
      options_(options),
      parallel_(options.communicator ? *options.communicator : process_communicator()),
      dir_(config.train.out_dir),
      last_path_((dir_ / "last.h5").string()),
      best_path_((dir_ / "best.h5").string()),
      quiet_(options.quiet || !parallel_.writer()),
      tty_(isatty(fileno(stderr)) && !quiet_),
      precision_(configured_precision(config)) {
  set_num_threads(static_cast<int>(tc_.threads));
  if (parallel_.writer()) prepare_run_directory(tc_.out_dir, quiet_);
  // Resume and --init-from: the text pipeline comes from the checkpoint so ids stay the same.
  std::unique_ptr<TextPipeline> saved_pipeline;
  const std::unique_ptr<H5File> start_file = open_start_checkpoint(saved_pipeline);
  data_ = std::make_unique<PreparedData>(prepare_data(config.data, !quiet_, saved_pipeline.get()));
  const TextPipeline& pipeline = data_->pipeline;
  Rng init_rng(static_cast<std::uint64_t>(tc_.seed));
  model_ = make_model(config.model, pipeline.source_vocab.size(), pipeline.target_vocab.size(), init_rng);
  optimizer_ = make_optimizer(tc_.optimizer, model_->named_parameters(), float(tc_.momentum), float(tc_.weight_decay),
                              float(tc_.beta1), float(tc_.beta2), float(tc_.eps));
  schedule_ = Schedule{tc_.schedule, float(tc_.lr), tc_.warmup_steps, tc_.max_steps};
  BatchOptions bo;
  bo.batch_size = tc_.batch_size;
  bo.batch_tokens = tc_.batch_tokens;
  bo.seed = static_cast<std::uint64_t>(tc_.seed);
  batches_ = std::make_unique<BatchIterator>(data_->train, bo);
  check_same_job();
  params_ = model_->parameters();
  state_.best = higher_is_better(tc_.metric) ? -1e300 : 1e300;
  if (start_file && !options.resume) initialize_from(*start_file);
  if (tc_.ema_decay > 0) ema_ = std::make_unique<ExponentialMovingAverage>(model_->named_parameters(), tc_.ema_decay);
  if (start_file && options.resume) restore(*start_file);
  parallel_.check_replicas(params_, optimizer_.get(), state_.step);
  if (!parallel_.writer()) return;
  if (!options.resume) {
    const std::size_t removed = remove_old_step_checkpoints(tc_.out_dir, 0);
    if (removed > 0) say("removed " + std::to_string(removed) + " ckpt-<step>.h5 of an earlier run in " + tc_.out_dir);
  }
  write_file_atomically((dir_ / "config.toml").string(), config.to_toml());
  log_.open((dir_ / "log.jsonl").string(), options.resume, state_.step);
}

// More than one rank: every rank must run the same program on the same config and
// data (an error naming what differs), and each must get whole batches.
void Trainer::check_same_job() const {
  if (parallel_.size() == 1) return;
  parallel_.check_same_run({{"config (resolved)", fingerprint_text(config_.to_toml())},
                            {"training data (token ids)", fingerprint_corpus(data_->train)},
                            {"program (xseq binary)", fingerprint_file("/proc/self/exe")}});
  const std::int64_t per_update = tc_.accumulate * parallel_.size();
  XSEQ_CHECK(batches_->batches_per_epoch() >= per_update, "an update of ", parallel_.size(), " ranks x train.accumulate ",
             tc_.accumulate, " = ", per_update, " batches needs at least that many batches per epoch, but the ",
             data_->train.size(), " training pairs make only ", batches_->batches_per_epoch(),
             " (lower train.batch_size, train.accumulate or the number of ranks)");
}

// last.h5 for --resume, the given checkpoint for --init-from (else none), with its pipeline.
std::unique_ptr<H5File> Trainer::open_start_checkpoint(std::unique_ptr<TextPipeline>& pipeline) const {
  XSEQ_CHECK(!(options_.resume && !options_.init_from.empty()),
             "--resume continues a run and --init-from starts a new one: give one of them");
  const std::string path = options_.resume ? last_path_ : options_.init_from;
  if (path.empty()) return nullptr;
  std::unique_ptr<H5File> file = open_checkpoint(path);
  check_not_quantized(*file, options_.resume ? "xseq train --resume" : "--init-from / train.init_from");
  pipeline = std::make_unique<TextPipeline>(TextPipeline::load(*file));
  if (!options_.init_from.empty()) {
    XSEQ_CHECK(pipeline->tokenizer->name() == config_.data.tokenizer || config_.data.tokenizer.empty(),
               config_.source, ": data.tokenizer = \"", config_.data.tokenizer, "\" but --init-from / train.init_from '", path,
               "' was trained with the \"", pipeline->tokenizer->name(),
               "\" tokenizer, which fine-tuning keeps (set data.tokenizer to match)");
  }
  return file;
}

// Fine-tuning: weights only. The model is built from this run's [model]; a
// parameter that does not fit is named with both shapes.
void Trainer::initialize_from(const H5File& checkpoint) {
  try {
    load_inference_parameters(checkpoint, *model_);
  } catch (const Error& e) {
    XSEQ_CHECK(false, "--init-from / train.init_from: the model of ", config_.source, " does not match: ", e.what());
  }
  say("initialized from " + checkpoint.path() + " (" + inference_group(checkpoint) +
      " weights, its tokenizer and vocabularies; optimizer, schedule and step start afresh)");
}

void Trainer::say(const std::string& line) const {
  if (!quiet_) std::fprintf(stderr, "%s%s\n", tty_ ? "\r\033[K" : "", line.c_str());
}

void Trainer::log(const nlohmann::ordered_json& line) {
  if (!parallel_.writer()) return;
  const std::string text = line.dump();
  log_.write(text);
  if (options_.on_log && !options_.on_log(text)) stopped_by_callback_ = true;
}

void Trainer::restore(const H5File& checkpoint) {
  load_parameters(checkpoint, *model_);
  optimizer_->load_state(checkpoint, "optimizer");
  load_rng_states(checkpoint, *model_);
  state_.step = int_attribute(checkpoint, "step");
  batches_->restore({int_attribute(checkpoint, "epoch"), int_attribute(checkpoint, "batch")});
  state_.best = double_attribute(checkpoint, "best_metric");
  state_.bad_validations = int_attribute(checkpoint, "bad_validations");
  // Older checkpoints have no running loss average: the divergence check starts afresh.
  if (!checkpoint.attribute("loss_average").empty()) state_.loss_average = double_attribute(checkpoint, "loss_average");
  if (!checkpoint.attribute("lr_scale").empty()) {
    state_.lr_scale = double_attribute(checkpoint, "lr_scale");
    state_.plateau_bad = int_attribute(checkpoint, "plateau_bad");
  }
  if (ema_) {
    XSEQ_CHECK(checkpoint.has("ema"), "--resume: ", last_path_, " has no moving average, but train.ema_decay = ",
               tc_.ema_decay, " (the run was started without it; resume with the same config)");
    ema_->load(checkpoint, "ema", int_attribute(checkpoint, "ema_updates"));
  }
  state_.last_saved_step = state_.step;
  say("resumed from " + last_path_ + " at step " + std::to_string(state_.step));
}

// Rank 0 writes; the other ranks hold the same state.
void Trainer::save(const std::string& path) {
  if (!parallel_.writer()) return;
  CheckpointExtras extras;
  data_->pipeline.save(extras);
  const BatchIterator::State s = batches_->state();
  extras.attributes["step"] = std::to_string(state_.step);
  extras.attributes["epoch"] = std::to_string(s.epoch);
  extras.attributes["batch"] = std::to_string(s.batch);
  char number[64];
  std::snprintf(number, sizeof number, "%.17g", state_.best);
  extras.attributes["best_metric"] = number;
  std::snprintf(number, sizeof number, "%.17g", state_.loss_average);
  extras.attributes["loss_average"] = number;
  extras.attributes["bad_validations"] = std::to_string(state_.bad_validations);
  std::snprintf(number, sizeof number, "%.17g", state_.lr_scale);
  extras.attributes["lr_scale"] = number;
  extras.attributes["plateau_bad"] = std::to_string(state_.plateau_bad);
  if (ema_) {
    extras.groups["ema"] = ema_->averages();
    extras.attributes["ema_updates"] = std::to_string(ema_->updates());
  }
  if (!options_.init_from.empty()) extras.attributes["init_from"] = options_.init_from;
  extras.attributes["config"] = config_.to_toml();
  extras.attributes["plugins"] = plugin_manifest(config_.registered_names());
  save_checkpoint(path, *model_, optimizer_.get(), extras);
}

// "" when the update's loss is fine, else why the run must stop before applying it.
std::string Trainer::check_loss(double step_loss) const {
  std::ostringstream msg;
  if (!std::isfinite(step_loss)) {
    msg << "loss is " << step_loss << " at step " << state_.step + 1 << " (epoch " << batches_->epoch() << ")";
    return msg.str();
  }
  const double uniform = std::log(double(data_->pipeline.target_vocab.size()));
  if (tc_.max_loss_ratio > 0 && state_.loss_average > 0 && step_loss > tc_.max_loss_ratio * state_.loss_average &&
      step_loss > uniform) {
    msg << "loss " << step_loss << " at step " << state_.step + 1 << " is more than train.max_loss_ratio = "
        << tc_.max_loss_ratio << " times its running average " << state_.loss_average
        << " and worse than a uniform guess (" << uniform << "): training diverged (lower train.lr, or raise "
        << "train.max_loss_ratio; 0 turns the check off)";
  }
  return msg.str();
}

// One update (train.accumulate batches). False when the loss says stop.
bool Trainer::train_step() {
  const double step_loss = accumulate_gradients();
  const std::string problem = check_loss(step_loss);
  if (!problem.empty()) {
    result_ = stop_with_error(problem);
    return false;
  }
  apply_update(step_loss);
  return true;
}

// Forward and backward over this rank's share of the update's batches
// (train.accumulate per rank), then the sum over ranks: the parameters' .grad
// holds the gradient of the update's loss, the mean over all its target tokens
// (each batch's mean weighted by its share of the tokens). Returns that loss, or
// a non-finite batch loss.
double Trainer::accumulate_gradients() {
  const std::int64_t per_update = tc_.accumulate * parallel_.size();
  std::vector<Batch> batches;  // every rank builds all of them, in the same order
  double tokens = 0;
  for (std::int64_t j = 0; j < per_update; ++j) {
    batches.push_back(batches_->next());
    tokens += double(batches.back().target_tokens());
  }
  BatchRngStreams streams(*model_, per_update);
  PrecisionGuard precision(precision_);  // forward and backward; the optimizer is fp32
  double step_loss = 0;
  const auto [first, last] = parallel_.share(tc_.accumulate);
  for (std::int64_t j = first; j < last; ++j) {
    const Batch& b = batches[static_cast<std::size_t>(j)];
    streams.enter(j);
    const Variable logits = model_->logits(b.source, b.source_lengths, b.decoder_input, b.target_lengths);
    const Variable loss = cross_entropy(logits, b.decoder_output, Vocab::kPad, float(tc_.label_smoothing));
    const float value = loss.value().item();
    if (!std::isfinite(value)) {
      step_loss = value;
      break;
    }
    const double weight = double(b.target_tokens()) / tokens;
    Variable scaled = per_update > 1 ? loss * float(weight) : loss;
    if (j + 1 == last) parallel_.backward_with_sums(scaled, params_);  // sums overlap backward
    else scaled.backward();
    step_loss += double(value) * weight;
  }
  streams.finish();
  window_tokens_ += tokens;
  if (parallel_.size() == 1) return step_loss;
  parallel_.sum_gradients(params_);
  window_sum_ms_ += parallel_.last_sum_ms();
  window_wait_ms_ += parallel_.last_wait_ms();
  std::vector<double> totals{step_loss, g_stop_signal != 0 ? 1.0 : 0.0, out_of_time() ? 1.0 : 0.0};
  parallel_.sum(totals);
  if (totals[1] > 0 && agreed_signal_ == 0) agreed_signal_ = g_stop_signal != 0 ? int(g_stop_signal) : SIGTERM;
  if (totals[2] > 0) agreed_out_of_time_ = true;  // every rank stops at the same update
  return totals[0];
}

// Clip, step the optimizer (and the moving average), count the update, log.
void Trainer::apply_update(double step_loss) {
  state_.loss_average = state_.loss_average > 0 ? 0.99 * state_.loss_average + 0.01 * step_loss : step_loss;
  const double grad_norm = clip_grad_norm(params_, tc_.clip_norm);
  schedule_.plateau_scale = state_.lr_scale;
  const float lr = schedule_.at(state_.step + 1);
  optimizer_->step(lr);
  optimizer_->zero_grad();
  if (ema_) ema_->update();
  ++state_.step;
  window_loss_ += step_loss;
  ++window_steps_;
  if (options_.after_step) options_.after_step(state_.step, *model_);
  if (parallel_.writer() && (state_.step % tc_.log_every == 0 || state_.step == tc_.max_steps)) log_progress(lr, grad_norm);
}

TrainResult Trainer::stop_with_error(const std::string& what) {
  const bool saved = std::filesystem::exists(last_path_);
  if (parallel_.writer())
    std::fprintf(stderr, "%serror: %s; stopping. %s\n", tty_ ? "\r\033[K" : "", what.c_str(),
               saved ? ("The last good checkpoint, " + last_path_ + " (step " + std::to_string(state_.last_saved_step) +
                        "), is unchanged.")
                           .c_str()
                     : "No checkpoint was written.");
  TrainResult r;
  r.stop_reason = what.rfind("loss is", 0) == 0 ? "non-finite loss" : "diverged";
  r.exit_code = 1;
  r.steps = state_.step;
  return r;
}

void Trainer::log_progress(float lr, double grad_norm) {
  const auto now = Clock::now();
  const double window_seconds = std::chrono::duration<double>(now - window_start_).count();
  const double tps = window_tokens_ / std::max(window_seconds, 1e-9);
  const double loss = window_loss_ / double(window_steps_);
  nlohmann::ordered_json line;
  line["step"] = state_.step;
  line["epoch"] = batches_->epoch();
  line["loss"] = round6(loss);
  line["lr"] = round6(lr);
  line["grad_norm"] = round6(grad_norm);
  line["tokens_per_s"] = round6(tps);
  if (parallel_.size() > 1) {  // the gradient sum over ranks: ms per update, MB each rank sends in
    line["allreduce_ms"] = round6(window_sum_ms_ / double(window_steps_));
    line["allreduce_mb"] = round6(parallel_.last_sum_bytes() / 1e6);
    // The part of the sums backward did not hide, and the share of the bytes started during backward.
    line["allreduce_wait_ms"] = round6(window_wait_ms_ / double(window_steps_));
    line["allreduce_overlap"] = round6(parallel_.last_overlap());
  }
  log(line);
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = elapsed / double(state_.step - first_step_) * double(tc_.max_steps - state_.step);
  char text[256];
  std::snprintf(text, sizeof text, "step %lld/%lld  epoch %lld  loss %.4f  lr %.2e  %.0f tok/s  ETA %s",
                static_cast<long long>(state_.step), static_cast<long long>(tc_.max_steps),
                static_cast<long long>(batches_->epoch()), loss, double(lr), tps, format_duration(eta).c_str());
  if (tty_) std::fprintf(stderr, "\r\033[K%s", text);
  else if (!quiet_) std::fprintf(stderr, "%s\n", text);
  window_start_ = now;
  window_tokens_ = window_loss_ = window_sum_ms_ = window_wait_ms_ = 0;
  window_steps_ = 0;
}

// A failed best.h5 is not fatal: the previous best.h5 stays, and so does the
// best metric it was saved with (the next validation tries again).
void Trainer::save_best(std::ostringstream& line, double value) {
  const double previous = state_.best;
  state_.best = value;
  try {
    save(best_path_);
    line << "  (best " << tc_.metric << ", saved best.h5)";
  } catch (const Error& e) {
    state_.best = previous;
    line << "  (best " << tc_.metric << ", but saving best.h5 failed: " << e.what()
         << "; the previous best.h5 is kept, training goes on)";
  }
}

// Validates and maybe saves best.h5; true when early stopping says stop.
bool Trainer::validate() {
  if (ema_) ema_->swap();  // validate the smoothed weights
  try {
    // Under mpirun each rank decodes a share; every rank gets the whole set's metrics.
    result_.valid = evaluate(*model_, data_->pipeline, data_->valid, data_->valid_text,
                             EvalOptions{tc_.batch_size, tc_.valid_max_sentences, {}, nullptr, parallel_.shared_work()});
  } catch (...) {
    if (ema_) ema_->swap();
    throw;
  }
  if (ema_) ema_->swap();
  validated_step_ = state_.step;
  parallel_.check_replicas(params_, optimizer_.get(), state_.step);
  nlohmann::ordered_json entry;
  entry["step"] = state_.step;
  entry["valid"] = true;
  for (const auto& [k, v] : result_.valid) entry[k] = round6(v);
  log(entry);
  const double value = result_.valid.count(tc_.metric) ? result_.valid.at(tc_.metric) : result_.valid.at("loss");
  const bool improved = higher_is_better(tc_.metric) ? value > state_.best : value < state_.best;
  std::ostringstream line;
  line << "valid @ " << state_.step << ":" << metrics_text(result_.valid);
  if (improved) {
    state_.bad_validations = 0;
    save_best(line, value);
  } else {
    ++state_.bad_validations;
  }
  update_plateau(improved, line);
  say(line.str());
  return tc_.patience > 0 && state_.bad_validations >= tc_.patience;
}

// Schedule plateau: K validations without improvement lower the rate by the factor.
void Trainer::update_plateau(bool improved, std::ostringstream& line) {
  if (tc_.schedule != "plateau") return;
  state_.plateau_bad = improved ? 0 : state_.plateau_bad + 1;
  if (state_.plateau_bad < tc_.plateau_patience) return;
  state_.plateau_bad = 0;
  state_.lr_scale *= tc_.plateau_factor;
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.3g", tc_.lr * state_.lr_scale);
  line << "  (no improvement in " << tc_.plateau_patience << " validations: lr lowered to " << rate << ")";
}

void Trainer::keep_step_checkpoint() {
  if (tc_.keep_checkpoints == 0 || !parallel_.writer()) return;
  save(step_checkpoint_path(tc_.out_dir, state_.step));
  remove_old_step_checkpoints(tc_.out_dir, tc_.keep_checkpoints);  // only once the new one is on disk
}

// The test split's metrics for one checkpoint (its smoothed weights when it has them), logged.
std::map<std::string, double> Trainer::test_checkpoint(const std::string& path) {
  auto file = open_checkpoint(path);
  load_inference_parameters(*file, *model_);
  const auto metrics =
      evaluate(*model_, data_->pipeline, data_->test, data_->test_text, EvalOptions{tc_.batch_size, 0, {}, nullptr});
  const std::string name = std::filesystem::path(path).filename().string();
  nlohmann::ordered_json entry;
  entry["step"] = state_.step;
  entry["test"] = true;
  entry["checkpoint"] = name;
  for (const auto& [k, v] : metrics) entry[k] = round6(v);
  log(entry);
  say("test (" + name + "):" + metrics_text(metrics));
  return metrics;
}

// train.average_last: the newest N kept checkpoints (fewer when the run kept fewer) -> averaged.h5.
void Trainer::average_and_test() {
  if (tc_.average_last == 0) return;
  std::vector<std::string> paths = step_checkpoints(tc_.out_dir);
  if (paths.empty()) {
    say("averaged.h5: no ckpt-<step>.h5 was kept (the run stopped before train.checkpoint_every), nothing to average");
    return;
  }
  if (static_cast<std::int64_t>(paths.size()) > tc_.average_last) paths.erase(paths.begin(), paths.end() - tc_.average_last);
  const std::string out = (dir_ / "averaged.h5").string();
  average_or_copy(paths, out);
  say("averaged " + std::to_string(paths.size()) + " checkpoints (" + std::filesystem::path(paths.front()).filename().string() +
      " .. " + std::filesystem::path(paths.back()).filename().string() + ") into averaged.h5");
  if (data_->test.size() > 0) result_.test_averaged = test_checkpoint(out);
}

// Why the run stops before the next update ("" = it goes on).
std::string Trainer::stop_reason(const StopSignals& signals) const {
  if (state_.step >= tc_.max_steps) return "max_steps";
  const BatchIterator::State position = batches_->state();
  const std::int64_t epochs_done = position.epoch + (position.batch >= batches_->batches_per_epoch() ? 1 : 0);
  if (tc_.max_epochs > 0 && epochs_done >= tc_.max_epochs) return "max_epochs";
  if (parallel_.size() > 1 ? agreed_out_of_time_ : out_of_time()) return "max_minutes";
  // More than one rank: stop only on a signal every rank knows of (each update's sum carries it).
  if (parallel_.size() > 1 ? agreed_signal_ != 0 : signals.received() != 0) return "interrupted";
  if (stopped_by_callback_) return "callback";
  return "";
}

// Validation and checkpoints after an update; true when early stopping says stop.
bool Trainer::after_update() {
  if ((state_.step % tc_.valid_every == 0 || state_.step == tc_.max_steps) && validate()) return true;
  if (state_.step % tc_.checkpoint_every == 0) {
    save_last();
    keep_step_checkpoint();
  }
  return false;
}

void Trainer::save_last() {
  save(last_path_);
  state_.last_saved_step = state_.step;
}

TrainResult Trainer::run() {
  if (!quiet_) {
    say("model " + config_.model.type + ": " + std::to_string(model_->parameter_count()) + " parameters, " +
        precision_name(precision_) + " products; " +
        std::to_string(data_->train.size()) + " training pairs, " + std::to_string(batches_->batches_per_epoch()) +
        " batches per epoch; run directory " + tc_.out_dir);
  }
  StopSignals signals;
  start_ = window_start_ = Clock::now();
  first_step_ = state_.step;
  model_->train();
  while (true) {
    result_.stop_reason = stop_reason(signals);
    if (!result_.stop_reason.empty()) break;
    if (!train_step()) return result_;
    if (after_update()) {
      result_.stop_reason = "patience";
      break;
    }
  }
  // A run cut short by its epochs, its time budget or the callback validates its
  // last weights too: best.h5 then exists however soon the run stopped.
  const std::string& why = result_.stop_reason;
  if ((why == "max_epochs" || why == "max_minutes" || why == "callback") && state_.step > first_step_ &&
      validated_step_ != state_.step)
    validate();
  return finish(parallel_.size() > 1 ? agreed_signal_ : signals.received());
}

// last.h5 always; then (unless interrupted) best.h5 and averaged.h5 on the test split.
TrainResult Trainer::finish(int signal) {
  save(last_path_);
  result_.steps = state_.step;
  if (result_.stop_reason == "interrupted") {
    say(std::string("interrupted (") + (signal == SIGTERM ? "SIGTERM" : "SIGINT") + ") at step " +
        std::to_string(state_.step) + "; saved " + last_path_ + " (continue with --resume)");
    result_.exit_code = 128 + signal;
    return result_;
  }
  say("stopped (" + result_.stop_reason + ") at step " + std::to_string(state_.step) + "; saved " + last_path_);
  if (!parallel_.writer()) return result_;  // rank 0 tests best.h5 and averages
  if (data_->test.size() > 0 && std::filesystem::exists(best_path_)) result_.test = test_checkpoint(best_path_);
  average_and_test();
  return result_;
}

}  // namespace

TrainResult train_model(const Config& config, const TrainOptions& options) {
  Trainer trainer(config, options);
  return trainer.run();
}

}  // namespace xseq
