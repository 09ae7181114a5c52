// xseq serve: flags for serve/server.hpp (docs/serve.md).
#include <thread>

#include "cli/command.hpp"
#include "serve/server.hpp"

namespace xseq::cli {
namespace {

// NAME=A.h5[,B.h5]: a model and its checkpoints (a comma makes an ensemble).
serve::ModelSpec parse_model(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    throw CLI::ValidationError("--model", "'" + text + "' is not NAME=CHECKPOINT[,CHECKPOINT...]");
  serve::ModelSpec m;
  m.name = text.substr(0, eq);
  std::string rest = text.substr(eq + 1);
  for (std::size_t start = 0; start <= rest.size();) {
    const auto comma = rest.find(',', start);
    const std::string path = rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (path.empty()) throw CLI::ValidationError("--model", "'" + text + "' has an empty checkpoint path");
    m.checkpoints.push_back(path);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return m;
}

template <class T>
void limit(CLI::App& cmd, const std::string& flag, T& value, const std::string& what, T lo, T hi) {
  cmd.add_option(flag, value, what)->check(kInteger)->check(CLI::Range(lo, hi))->capture_default_str();
}

}  // namespace

Command add_serve_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("serve", "serve translations over HTTP with dynamic batching (docs/serve.md)");
  cmd->footer(
      "POST /v1/translate {\"text\": ...} or {\"texts\": [...]} (and model, beam, n_best, alpha, max_len_ratio,\n"
      "max_len_extra, timeout_ms); POST /v1/score {\"pairs\": [{\"source\", \"target\"}]}; GET /v1/models,\n"
      "/health/live, /health/ready, /metrics (Prometheus); POST /admin/reload (with --api-key-file).\n"
      "Sentences of concurrent requests are decoded together (up to --max-batch-tokens, waiting at most\n"
      "--max-wait-ms); outputs equal `xseq translate` byte for byte. Listens on 127.0.0.1 unless --host\n"
      "says otherwise (TLS: a reverse proxy, docs/serve.md). SIGTERM stops accepting, finishes queued\n"
      "work (at most --grace-seconds) and exits 0; SIGHUP reloads the checkpoints. One JSON access-log\n"
      "line per request on stderr (texts only with --log-text).");
  auto o = std::make_shared<serve::ServeOptions>();
  auto models = std::make_shared<std::vector<std::string>>();
  auto checkpoints = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--model", *models, "NAME=CKPT[,CKPT...]: a model to serve (a comma: an ensemble); repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--checkpoint", *checkpoints, "serve this checkpoint as the model 'default' (repeat: an ensemble)")
      ->allow_extra_args(false);
  cmd->add_option("--host", o->host, "address to listen on")->capture_default_str();
  limit(*cmd, "--port", o->port, "port (0: any free port, printed on start)", 0, 65535);
  limit(*cmd, "--http-threads", o->http_threads, "HTTP worker threads (they mostly wait for decoding)", 1, 4096);
  limit(*cmd, "--threads", o->threads, "decoding threads in all, shared by the models (0 = all cores)", 0, 1024);
  limit(*cmd, "--workers", o->workers,
        "batches decoded at once per model (0 = one per decoding thread, each batch on one thread; "
        "1 = one batch at a time on all threads)",
        0, 1024);
  add_precision_flag(*cmd, o->precision);
  limit(*cmd, "--max-batch-tokens", o->max_batch_tokens, "source tokens per decoded batch", std::int64_t{1},
        std::int64_t{1} << 24);
  limit(*cmd, "--max-wait-ms", o->max_wait_ms, "how long a free decoding thread waits for companions (0 = none)", std::int64_t{0},
        std::int64_t{10000});
  limit(*cmd, "--max-queued-tokens", o->max_queued_tokens, "tokens queued per model before 429", std::int64_t{1},
        std::int64_t{1} << 32);
  limit(*cmd, "--max-body-bytes", o->max_body_bytes, "largest request body (413 above)", std::int64_t{1},
        std::int64_t{1} << 30);
  limit(*cmd, "--max-chars", o->max_chars, "longest text in bytes (413 above)", std::int64_t{1}, std::int64_t{1} << 26);
  limit(*cmd, "--max-texts", o->max_texts, "most texts per request (413 above)", std::int64_t{1}, std::int64_t{1} << 20);
  limit(*cmd, "--max-connections", o->max_connections, "open connections (503 above)", std::int64_t{1},
        std::int64_t{1} << 20);
  limit(*cmd, "--timeout-ms", o->timeout_ms, "a request's deadline unless it sets timeout_ms (504 after)",
        std::int64_t{1}, std::int64_t{600000});
  cmd->add_option("--api-key-file", o->api_key_file, "requests need 'Authorization: Bearer <the file's first line>'")
      ->check(CLI::ExistingFile);
  cmd->add_option("--grace-seconds", o->grace_seconds, "SIGTERM: how long queued work may finish")
      ->check(kFiniteNumber)
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  cmd->add_flag("--log-text", o->log_text, "put the request texts into the access log");
  cmd->add_option("--ready-file", o->ready_file, "write the port to FILE once serving (scripts, tests)");
  return {cmd, [o, models, checkpoints] {
            for (const auto& m : *models) o->models.push_back(parse_model(m));
            if (!checkpoints->empty()) o->models.push_back({"default", *checkpoints});
            if (o->models.empty())
              throw CLI::ValidationError("--model", "give --model NAME=CKPT (repeatable) or --checkpoint CKPT");
            return serve::run_server(*o);
          }};
}

}  // namespace xseq::cli
