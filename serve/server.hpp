// `xseq serve`: an HTTP translation server over xseq::Translator with dynamic
// batching across requests (docs/serve.md). cpp-httplib answers HTTP,
// nlohmann-json the bodies; serve/batcher.hpp batches, serve/metrics.hpp counts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace xseq::serve {

/// A served model: a name and one checkpoint, or several (an ensemble).
struct ModelSpec {
  std::string name;
  std::vector<std::string> checkpoints;
};

struct ServeOptions {
  std::vector<ModelSpec> models;
  std::string host = "127.0.0.1";
  int port = 8080;                        ///< 0: any free port (printed on start)
  int http_threads = 64;                  ///< HTTP workers (they mostly wait for decoding)
  int threads = 0;                        ///< decoding threads in all (0 = all cores)
  int workers = 0;                        ///< batches decoded at once per model (0: one per decoding thread)
  std::string precision;                  ///< fp32, bf16, int8; "" = each checkpoint's (TranslatorOptions)
  std::int64_t max_batch_tokens = 4096;   ///< source tokens per batch
  std::int64_t max_wait_ms = 0;           ///< how long a free decoding thread waits for companions
  std::int64_t max_queued_tokens = 262144;
  std::int64_t max_body_bytes = 8 << 20;
  std::int64_t max_chars = 10000;
  std::int64_t max_texts = 1024;
  std::int64_t max_connections = 256;     ///< connections open at once; more get 503
  std::int64_t timeout_ms = 60000;        ///< a request's default deadline
  std::string api_key_file;               ///< requests need "Authorization: Bearer <key>"
  double grace_seconds = 30;              ///< SIGTERM: how long queued work may finish
  bool log_text = false;                  ///< access log lines carry the texts
  std::string ready_file;                 ///< written with the port once ready (tests, scripts)
};

/// Loads the models, serves until SIGTERM/SIGINT (drains, exits 0); SIGHUP
/// reloads. Returns the exit code; errors before serving throw xseq::Error.
int run_server(const ServeOptions& options);

}  // namespace xseq::serve
