#include "train/trainer.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "framework/parallel.hpp"
#include "train/evaluation.hpp"

namespace xseq {
namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted = true; }

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string metrics_json(const std::map<std::string, double>& m) {
  std::string out;
  for (const auto& [k, v] : m) out += ", \"" + k + "\": " + json_number(v);
  return out;
}

bool higher_is_better(const std::string& metric) { return metric != "loss"; }

std::string format_duration(double seconds) {
  char buf[32];
  const int s = static_cast<int>(seconds + 0.5);
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", s / 3600, (s / 60) % 60);
  else std::snprintf(buf, sizeof buf, "%dm%02ds", s / 60, s % 60);
  return buf;
}

}  // namespace

TrainResult train_model(const Config& config, const TrainOptions& options) {
  const TrainConfig& tc = config.train;
  set_num_threads(static_cast<int>(tc.threads));
  namespace fs = std::filesystem;
  const fs::path dir(tc.out_dir);
  fs::create_directories(dir);
  const std::string last_path = (dir / "last.h5").string(), best_path = (dir / "best.h5").string();
  const bool tty = isatty(fileno(stderr)) && !options.quiet;
  auto say = [&](const std::string& line) {
    if (!options.quiet) std::fprintf(stderr, "%s%s\n", tty ? "\r\033[K" : "", line.c_str());
  };

  // Resume: the text pipeline comes from the checkpoint so ids stay the same.
  std::unique_ptr<H5File> resume_file;
  std::unique_ptr<TextPipeline> saved_pipeline;
  if (options.resume) {
    resume_file = open_checkpoint(last_path);
    saved_pipeline = std::make_unique<TextPipeline>(TextPipeline::load(*resume_file));
  }
  const PreparedData data = prepare_data(config.data, !options.quiet, saved_pipeline.get());
  const TextPipeline& pipeline = data.pipeline;

  Rng init_rng(static_cast<std::uint64_t>(tc.seed));
  std::shared_ptr<Seq2SeqModel> model =
      make_model(config.model, pipeline.source_vocab.size(), pipeline.target_vocab.size(), init_rng);
  auto optimizer = make_optimizer(tc.optimizer, model->named_parameters(), float(tc.momentum), float(tc.weight_decay),
                                  float(tc.beta1), float(tc.beta2), float(tc.eps));
  const Schedule schedule{tc.schedule, float(tc.lr), tc.warmup_steps, tc.max_steps};
  BatchOptions bo;
  bo.batch_size = tc.batch_size;
  bo.batch_tokens = tc.batch_tokens;
  bo.seed = static_cast<std::uint64_t>(tc.seed);
  BatchIterator batches(data.train, bo);

  std::int64_t step = 0, bad_validations = 0;
  double best = higher_is_better(tc.metric) ? -1e300 : 1e300;
  if (resume_file) {
    load_parameters(*resume_file, *model);
    optimizer->load_state(*resume_file, "optimizer");
    load_rng_states(*resume_file, *model);
    step = std::stoll(resume_file->attribute("step"));
    batches.restore({std::stoll(resume_file->attribute("epoch")), std::stoll(resume_file->attribute("batch"))});
    best = std::stod(resume_file->attribute("best_metric"));
    bad_validations = std::stoll(resume_file->attribute("bad_validations"));
    say("resumed from " + last_path + " at step " + std::to_string(step));
    resume_file.reset();
  }
  {
    std::ofstream(dir / "config.toml") << config.to_toml();
  }
  std::ofstream log(dir / "log.jsonl", options.resume ? std::ios::app : std::ios::trunc);
  XSEQ_CHECK(log.good(), "cannot write '", (dir / "log.jsonl").string(), "'");

  auto save = [&](const std::string& path) {
    CheckpointExtras extras;
    pipeline.save(extras);
    const BatchIterator::State s = batches.state();
    extras.attributes["step"] = std::to_string(step);
    extras.attributes["epoch"] = std::to_string(s.epoch);
    extras.attributes["batch"] = std::to_string(s.batch);
    char best_text[64];
    std::snprintf(best_text, sizeof best_text, "%.17g", best);
    extras.attributes["best_metric"] = best_text;
    extras.attributes["bad_validations"] = std::to_string(bad_validations);
    extras.attributes["config"] = config.to_toml();
    save_checkpoint(path, *model, optimizer.get(), extras);
  };

  if (!options.quiet) {
    say("model " + config.model.type + ": " + std::to_string(model->parameter_count()) + " parameters; " +
        std::to_string(data.train.size()) + " training pairs, " + std::to_string(batches.batches_per_epoch()) +
        " batches per epoch; run directory " + tc.out_dir);
  }
  g_interrupted = false;
  auto previous_handler = std::signal(SIGINT, on_sigint);
  TrainResult result;
  const std::vector<Variable> params = model->parameters();
  const auto start = std::chrono::steady_clock::now();
  auto window_start = start;
  double window_tokens = 0, window_loss = 0;
  std::int64_t window_steps = 0, last_saved_step = step;
  const std::int64_t first_step = step;
  model->train();

  while (true) {
    if (step >= tc.max_steps) { result.stop_reason = "max_steps"; break; }
    const BatchIterator::State position = batches.state();
    const std::int64_t epochs_done = position.epoch + (position.batch >= batches.batches_per_epoch() ? 1 : 0);
    if (tc.max_epochs > 0 && epochs_done >= tc.max_epochs) { result.stop_reason = "max_epochs"; break; }
    if (g_interrupted) { result.stop_reason = "interrupted"; break; }

    double step_loss = 0;
    for (std::int64_t a = 0; a < tc.accumulate; ++a) {
      const Batch b = batches.next();
      const Variable logits = model->logits(b.source, b.source_lengths, b.decoder_input, b.target_lengths);
      const Variable loss = cross_entropy(logits, b.decoder_output, Vocab::kPad, float(tc.label_smoothing));
      const float value = loss.value().item();
      if (!std::isfinite(value)) {
        std::ostringstream msg;
        msg << "loss is " << value << " at step " << step + 1 << " (epoch " << batches.epoch() << "); stopping. ";
        msg << (std::filesystem::exists(last_path) ? "The last good checkpoint, " + last_path + " (step " +
                                                           std::to_string(last_saved_step) + "), is unchanged."
                                                     : std::string("No checkpoint was written."));
        std::fprintf(stderr, "%serror: %s\n", tty ? "\r\033[K" : "", msg.str().c_str());
        result.stop_reason = "non-finite loss";
        result.exit_code = 1;
        result.steps = step;
        std::signal(SIGINT, previous_handler);
        return result;
      }
      Variable scaled = tc.accumulate > 1 ? loss * (1.0f / float(tc.accumulate)) : loss;
      scaled.backward();
      step_loss += value / double(tc.accumulate);
      window_tokens += double(b.target_tokens());
    }
    const double grad_norm = clip_grad_norm(params, tc.clip_norm);
    const float lr = schedule.at(step + 1);
    optimizer->step(lr);
    optimizer->zero_grad();
    ++step;
    window_loss += step_loss;
    ++window_steps;
    if (options.after_step) options.after_step(step, *model);

    const auto now = std::chrono::steady_clock::now();
    const double window_seconds = std::chrono::duration<double>(now - window_start).count();
    if (step % tc.log_every == 0 || step == tc.max_steps) {
      const double tps = window_tokens / std::max(window_seconds, 1e-9);
      log << "{\"step\": " << step << ", \"epoch\": " << batches.epoch() << ", \"loss\": " << json_number(window_loss / double(window_steps))
          << ", \"lr\": " << json_number(lr) << ", \"grad_norm\": " << json_number(grad_norm)
          << ", \"tokens_per_s\": " << json_number(tps) << "}\n";
      log.flush();
      const double elapsed = std::chrono::duration<double>(now - start).count();
      const double eta = elapsed / double(step - first_step) * double(tc.max_steps - step);
      char line[256];
      std::snprintf(line, sizeof line, "step %lld/%lld  epoch %lld  loss %.4f  lr %.2e  %.0f tok/s  ETA %s",
                    static_cast<long long>(step), static_cast<long long>(tc.max_steps),
                    static_cast<long long>(batches.epoch()), window_loss / double(window_steps), double(lr), tps,
                    format_duration(eta).c_str());
      if (tty) std::fprintf(stderr, "\r\033[K%s", line);
      else if (!options.quiet) std::fprintf(stderr, "%s\n", line);
      window_start = now;
      window_tokens = window_loss = 0;
      window_steps = 0;
    }

    if (step % tc.valid_every == 0 || step == tc.max_steps) {
      result.valid = evaluate(*model, pipeline, data.valid, data.valid_text, EvalOptions{tc.batch_size, tc.valid_max_sentences, {}, nullptr});
      log << "{\"step\": " << step << ", \"valid\": true" << metrics_json(result.valid) << "}\n";
      log.flush();
      const double value = result.valid.count(tc.metric) ? result.valid.at(tc.metric) : result.valid.at("loss");
      const bool improved = higher_is_better(tc.metric) ? value > best : value < best;
      std::ostringstream line;
      line << "valid @ " << step << ":";
      for (const auto& [k, v] : result.valid) line << " " << k << " " << json_number(v);
      if (improved) {
        best = value;
        bad_validations = 0;
        save(best_path);
        line << "  (best " << tc.metric << ", saved best.h5)";
      } else {
        ++bad_validations;
      }
      say(line.str());
      if (tc.patience > 0 && bad_validations >= tc.patience) {
        result.stop_reason = "patience";
        break;
      }
    }
    if (step % tc.checkpoint_every == 0) {
      save(last_path);
      last_saved_step = step;
    }
  }
  std::signal(SIGINT, previous_handler);
  save(last_path);
  result.steps = step;
  if (result.stop_reason == "interrupted") {
    say("interrupted at step " + std::to_string(step) + "; saved " + last_path + " (continue with --resume)");
    result.exit_code = 130;
    return result;
  }
  say("stopped (" + result.stop_reason + ") at step " + std::to_string(step) + "; saved " + last_path);

  if (data.test.size() > 0 && std::filesystem::exists(best_path)) {
    auto file = open_checkpoint(best_path);
    load_parameters(*file, *model);
    result.test = evaluate(*model, pipeline, data.test, data.test_text, EvalOptions{tc.batch_size, 0, {}, nullptr});
    log << "{\"step\": " << step << ", \"test\": true, \"checkpoint\": \"best.h5\"" << metrics_json(result.test) << "}\n";
    std::ostringstream line;
    line << "test (best.h5):";
    for (const auto& [k, v] : result.test) line << " " << k << " " << json_number(v);
    say(line.str());
  }
  return result;
}

}  // namespace xseq
