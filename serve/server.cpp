#include "serve/server.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "config/config.hpp"
#include "framework/error.hpp"
#include "serve/batcher.hpp"
#include "serve/protocol.hpp"

namespace xseq::serve {
namespace {

using json = nlohmann::json;
using httplib::Request;
using httplib::Response;

// Per HTTP worker thread, for the request it is answering.
thread_local std::string t_request_id;
thread_local Clock::time_point t_request_start;
thread_local std::string t_log_extra;  // fields the access log adds (model, texts)
thread_local bool t_rejected = false;   // this connection is over max_connections

// The socket of the client that sent `req`, found by its address (cpp-httplib
// does not hand it to handlers); -1 when not found. Used only to notice that the
// client left while its request waits.
int client_socket(const Request& req) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return -1;
  int found = -1;
  while (dirent* entry = readdir(dir)) {
    const int fd = std::atoi(entry->d_name);
    if (fd <= 2) continue;
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
    char host[INET6_ADDRSTRLEN] = {};
    int port = -1;
    if (peer.ss_family == AF_INET) {
      const auto* a = reinterpret_cast<const sockaddr_in*>(&peer);
      inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
      port = ntohs(a->sin_port);
    } else if (peer.ss_family == AF_INET6) {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(&peer);
      inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
      port = ntohs(a->sin6_port);
    }
    if (port == req.remote_port && req.remote_addr == host) {
      found = fd;
      break;
    }
  }
  closedir(dir);
  return found;
}

// True when the client closed its side (recv sees the end of the stream).
bool client_gone(int fd) {
  if (fd < 0) return false;
  char byte;
  const ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

std::string new_request_id() {
  static thread_local std::mt19937_64 rng(std::random_device{}() ^ std::hash<std::thread::id>{}(std::this_thread::get_id()));
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

// An X-Request-Id a client sent is echoed when it is short printable ASCII.
std::string request_id(const Request& req) {
  const std::string sent = req.get_header_value("X-Request-Id");
  if (sent.empty() || sent.size() > 128) return new_request_id();
  for (unsigned char c : sent)
    if (c < 0x21 || c > 0x7e) return new_request_id();
  return sent;
}

bool same_key(const std::string& a, const std::string& b) {  // constant time in the key's length
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (std::size_t i = 0; i < b.size(); ++i) diff |= unsigned(static_cast<unsigned char>(i < a.size() ? a[i] : 0) ^
                                                        static_cast<unsigned char>(b[i]));
  return diff == 0;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void send_error(Response& res, int status, const std::string& code, const std::string& message,
                const std::string& field = "", const std::string& limit = "") {
  res.status = status;
  res.set_content(error_body(code, message, field, limit), "application/json");
}

// A connection queue that answers connections over the cap with 503 (on two
// threads of their own) instead of queueing them without end.
class CappedPool : public httplib::TaskQueue {
 public:
  CappedPool(std::size_t threads, std::int64_t cap) : pool_(threads), rejects_(2), cap_(cap) {}
  void enqueue(std::function<void()> fn) override {
    if (++open_ > cap_) {
      --open_;
      rejects_.enqueue([fn = std::move(fn)] {
        t_rejected = true;
        fn();
        t_rejected = false;
      });
      return;
    }
    pool_.enqueue([this, fn = std::move(fn)] {
      fn();
      --open_;
    });
  }
  void shutdown() override {
    pool_.shutdown();
    rejects_.shutdown();
  }

 private:
  httplib::ThreadPool pool_, rejects_;
  std::atomic<std::int64_t> open_{0};
  std::int64_t cap_;
};

// cpp-httplib 0.11 listens with a backlog of 5: under a burst of new connections
// the kernel's accept queue overflows and clients see reset connections (64
// clients lost 1-4% of their requests in tests/test_serve.cpp). listen() again
// on the bound socket raises it.
class HttpServer : public httplib::Server {
 public:
  void raise_backlog(int backlog) { ::listen(svr_sock_, backlog); }
};

struct Model {
  ModelSpec spec;
  std::unique_ptr<ModelQueue> queue;
  json summary;  // what GET /v1/models says of it
};

class Server {
 public:
  explicit Server(const ServeOptions& o) : o_(o) {
    limits_.max_chars = o.max_chars;
    limits_.max_texts = o.max_texts;
    if (!o.api_key_file.empty()) read_api_key();
  }
  int run();

 private:
  std::shared_ptr<const Translator> load(const ModelSpec& spec, json& summary) const;
  int decoding_threads() const {
    return o_.threads > 0 ? o_.threads : std::max(1, int(std::thread::hardware_concurrency()));
  }
  // Batches decoded at once per model: by default one per decoding thread (small
  // batches run faster on one thread each than on all of them together).
  int workers() const {
    return o_.workers > 0 ? o_.workers : std::max(1, decoding_threads() / std::max(1, int(o_.models.size())));
  }
  void load_models();
  bool reload(std::string& why);
  void routes();
  void hooks();
  bool authorized(const Request& req, Response& res) const;
  bool read_body(const Request& req, Response& res, const httplib::ContentReader& reader, std::string& body) const;
  Model* find_model(const std::string& name, Response& res);
  void translate(const Request& req, Response& res, const httplib::ContentReader& reader);
  void score(const Request& req, Response& res, const httplib::ContentReader& reader);
  void models(Response& res) const;
  void admin_reload(const Request& req, Response& res, const httplib::ContentReader& reader);
  void signals(sigset_t set);
  void drain();
  void read_api_key();

  const ServeOptions& o_;
  Limits limits_;
  std::string api_key_;
  Metrics metrics_;
  std::map<std::string, Model> models_;
  std::mutex reload_mutex_;
  std::atomic<bool> ready_{false}, draining_{false};
  HttpServer http_;
};

void Server::read_api_key() {
  std::ifstream in(o_.api_key_file);
  XSEQ_CHECK_AS(OptionError, in.is_open(), "--api-key-file '", o_.api_key_file, "' cannot be read");
  std::getline(in, api_key_);
  while (!api_key_.empty() && std::isspace(static_cast<unsigned char>(api_key_.back()))) api_key_.pop_back();
  XSEQ_CHECK_AS(OptionError, api_key_.size() >= 16, "--api-key-file '", o_.api_key_file,
                "': the key on its first line must have at least 16 characters");
}

std::shared_ptr<const Translator> Server::load(const ModelSpec& spec, json& summary) const {
  const int models = int(o_.models.size());
  const int total = decoding_threads();
  TranslatorOptions t;
  t.workers = workers();
  t.threads = std::max(1, total / std::max(1, models * t.workers));
  t.batch_size = 65536;  // the batcher sizes batches (by tokens); the Translator decodes them whole
  t.batch_tokens = o_.max_batch_tokens;
  t.precision = o_.precision;
  const auto start = Clock::now();
  auto translator = std::make_shared<const Translator>(spec.checkpoints, t);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const Config& c = translator->config();
  summary = {{"name", spec.name},
             {"checkpoints", spec.checkpoints},
             {"config",
              {{"type", c.model.type}, {"d_model", c.model.d_model}, {"heads", c.model.heads},
               {"encoder_layers", c.model.encoder_layers}, {"decoder_layers", c.model.decoder_layers},
               {"tokenizer", c.data.tokenizer}, {"max_input", translator->max_input()}}},
             {"load_seconds", seconds},
             {"loaded_at", utc_now()},
             {"threads", t.threads},
             {"workers", t.workers},
             {"precision", translator->precision()}};
  return translator;
}

void Server::load_models() {
  BatchOptions b{o_.max_batch_tokens, o_.max_wait_ms, o_.max_queued_tokens};
  for (const ModelSpec& spec : o_.models) {
    Model m;
    m.spec = spec;
    auto translator = load(spec, m.summary);
    metrics_.model_loaded(spec.name, m.summary["load_seconds"].get<double>());
    m.queue = std::make_unique<ModelQueue>(spec.name, std::move(translator), b, metrics_, workers());
    models_.emplace(spec.name, std::move(m));
  }
}

// New Translators for every model; only when all load are they swapped in (a
// failed reload keeps the old ones and says why). Requests keep flowing.
bool Server::reload(std::string& why) {
  std::lock_guard<std::mutex> lock(reload_mutex_);
  std::map<std::string, std::pair<std::shared_ptr<const Translator>, json>> fresh;
  try {
    for (const auto& [name, model] : models_) {
      json summary;
      auto t = load(model.spec, summary);
      fresh.emplace(name, std::make_pair(std::move(t), std::move(summary)));
    }
  } catch (const std::exception& e) {
    why = e.what();
    return false;
  }
  for (auto& [name, loaded] : fresh) {
    Model& m = models_.at(name);
    m.queue->replace(loaded.first);
    m.summary = loaded.second;
    metrics_.model_loaded(name, m.summary["load_seconds"].get<double>());
  }
  return true;
}

bool Server::authorized(const Request& req, Response& res) const {
  if (api_key_.empty()) return true;
  const std::string header = req.get_header_value("Authorization");
  const std::string prefix = "Bearer ";
  if (header.compare(0, prefix.size(), prefix) == 0 && same_key(header.substr(prefix.size()), api_key_)) return true;
  res.set_header("WWW-Authenticate", "Bearer");
  send_error(res, 401, "unauthorized", "this server needs 'Authorization: Bearer <key>' (--api-key-file)");
  return false;
}

// The body, at most max_body_bytes; a longer one is read to its end and dropped
// (413), so that the client is reading when the answer comes.
bool Server::read_body(const Request&, Response& res, const httplib::ContentReader& reader, std::string& body) const {
  bool too_large = false;
  const auto limit = static_cast<std::size_t>(o_.max_body_bytes);
  reader([&](const char* data, std::size_t n) {
    if (body.size() + n > limit) too_large = true;
    if (!too_large) body.append(data, n);
    return true;
  });
  if (!too_large) return true;
  send_error(res, 413, "too_large", "the body is larger than max_body_bytes " + std::to_string(o_.max_body_bytes), "",
             "max_body_bytes");
  return false;
}

Model* Server::find_model(const std::string& name, Response& res) {
  if (name.empty() && models_.size() == 1) return &models_.begin()->second;
  const auto it = models_.find(name.empty() ? "default" : name);
  if (it != models_.end()) return &it->second;
  std::string known;
  for (const auto& [n, m] : models_) known += (known.empty() ? "" : ", ") + n;
  send_error(res, 404, "unknown_model",
             name.empty() ? "several models are served: name one in 'model' (" + known + ")"
                          : "no model '" + name + "' (served: " + known + ")",
             "model");
  return nullptr;
}

void Server::translate(const Request& req, Response& res, const httplib::ContentReader& reader) {
  std::string body;
  if (!authorized(req, res) || !read_body(req, res, reader, body)) return;
  if (draining_) return send_error(res, 503, "draining", "the server is shutting down");
  TranslateRequest r;
  RequestError e;
  if (!parse_translate_request(body, limits_, r, e)) return send_error(res, e.status, e.code, e.message, e.field, e.limit);
  Model* model = find_model(r.model, res);
  if (!model) return;
  const std::shared_ptr<const Translator> translator = model->queue->translator();
  SearchOptions search = translator->options();
  if (!apply_search(r, search, e)) return send_error(res, e.status, e.code, e.message, e.field, e.limit);
  auto job = std::make_shared<Job>();
  job->texts = r.texts;
  for (const auto& text : job->texts) job->lengths.push_back(std::int64_t(translator->tokenize(text).size()));
  job->search = search;
  job->arrived = Clock::now();
  job->deadline = job->arrived + std::chrono::milliseconds(r.timeout_ms > 0 ? r.timeout_ms : o_.timeout_ms);
  t_log_extra = ",\"model\":" + json(model->spec.name).dump() + ",\"texts\":" + std::to_string(r.texts.size());
  if (o_.log_text) t_log_extra += ",\"text\":" + json(r.texts).dump(-1, ' ', false, json::error_handler_t::replace);
  if (!model->queue->submit(job)) {
    res.set_header("Retry-After", "1");
    return send_error(res, 429, "queue_full", "the queue of model '" + model->spec.name + "' is full; retry later", "",
                      "max_queued_tokens");
  }
  // The client's socket is looked up only when the request has waited a while
  // (the lookup scans /proc/self/fd: too slow to do for every request).
  int fd = -2;
  const auto gone = [&] {
    if (fd == -2) fd = client_socket(req);
    return client_gone(fd);
  };
  switch (model->queue->wait(job, gone)) {
    case ModelQueue::Outcome::done:
      res.set_content(translate_response(model->spec.name, job->results), "application/json");
      return;
    case ModelQueue::Outcome::deadline:
      return send_error(res, 504, "deadline", "the request did not finish within its deadline", "", "timeout_ms");
    case ModelQueue::Outcome::client_gone:
      return send_error(res, 499, "client_gone", "the client closed the connection");
    case ModelQueue::Outcome::failed:
      return send_error(res, 500, "internal", "decoding failed: " + job->failure);
  }
}

void Server::score(const Request& req, Response& res, const httplib::ContentReader& reader) {
  std::string body;
  if (!authorized(req, res) || !read_body(req, res, reader, body)) return;
  if (draining_) return send_error(res, 503, "draining", "the server is shutting down");
  ScoreRequest r;
  RequestError e;
  if (!parse_score_request(body, limits_, r, e)) return send_error(res, e.status, e.code, e.message, e.field, e.limit);
  Model* model = find_model(r.model, res);
  if (!model) return;
  t_log_extra = ",\"model\":" + json(model->spec.name).dump() + ",\"pairs\":" + std::to_string(r.sources.size());
  try {
    const auto scores = model->queue->translator()->score(r.sources, r.targets);
    res.set_content(score_response(model->spec.name, scores), "application/json");
  } catch (const InputError& x) {
    send_error(res, 400, "bad_text", x.what(), "pairs");
  }
}

void Server::models(Response& res) const {
  json list = json::array();
  for (const auto& [name, m] : models_) list.push_back(m.summary);
  res.set_content(json{{"models", list}}.dump(), "application/json");
}

void Server::admin_reload(const Request& req, Response& res, const httplib::ContentReader& reader) {
  std::string body;
  if (!read_body(req, res, reader, body)) return;
  if (api_key_.empty())
    return send_error(res, 403, "forbidden", "POST /admin/reload needs --api-key-file (or send the server SIGHUP)");
  if (!authorized(req, res)) return;
  std::string why;
  if (!reload(why)) return send_error(res, 500, "reload_failed", "reload failed, the old models stay: " + why);
  res.set_content(json{{"reloaded", true}}.dump(), "application/json");
}

// GET/POST/...: the routes, and 405 for a known path with another method.
void Server::routes() {
  using Reader = httplib::ContentReader;
  http_.Post("/v1/translate", [this](const Request& q, Response& r, const Reader& c) { translate(q, r, c); });
  http_.Post("/v1/score", [this](const Request& q, Response& r, const Reader& c) { score(q, r, c); });
  http_.Post("/admin/reload", [this](const Request& q, Response& r, const Reader& c) { admin_reload(q, r, c); });
  http_.Get("/v1/models", [this](const Request& q, Response& r) {
    if (authorized(q, r)) models(r);
  });
  http_.Get("/health/live", [](const Request&, Response& r) { r.set_content("{\"live\":true}", "application/json"); });
  http_.Get("/health/ready", [this](const Request&, Response& r) {
    if (ready_ && !draining_) return r.set_content("{\"ready\":true}", "application/json");
    send_error(r, 503, draining_ ? "draining" : "loading", draining_ ? "the server is shutting down" : "models are loading");
  });
  http_.Get("/metrics", [this](const Request&, Response& r) {
    r.set_content(metrics_.text(), "text/plain; version=0.0.4");
  });
  const std::map<std::string, std::string> allowed{{"/v1/translate", "POST"}, {"/v1/score", "POST"},
                                                   {"/admin/reload", "POST"}, {"/v1/models", "GET"},
                                                   {"/health/live", "GET"},  {"/health/ready", "GET"},
                                                   {"/metrics", "GET"}};
  for (const auto& [path, method] : allowed) {
    auto refuse = [path = path, method = method](const Request& q, Response& r) {
      r.set_header("Allow", method);
      send_error(r, 405, "method_not_allowed", q.method + " " + path + ": use " + method);
    };
    if (method == "POST") http_.Get(path, refuse);
    if (method == "GET") http_.Post(path, refuse);
    http_.Put(path, refuse);
    http_.Delete(path, refuse);
    http_.Patch(path, refuse);
  }
}

// Request ids, the connection cap, JSON bodies for the errors cpp-httplib makes
// itself, and the access log.
void Server::hooks() {
  http_.set_pre_routing_handler([](const Request& req, Response& res) {
    t_request_start = Clock::now();
    t_request_id = request_id(req);
    t_log_extra.clear();
    res.set_header("X-Request-Id", t_request_id);
    if (!t_rejected) return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("Connection", "close");
    send_error(res, 503, "too_many_connections", "too many open connections; retry later", "", "max_connections");
    return httplib::Server::HandlerResponse::Handled;
  });
  http_.set_error_handler(httplib::Server::HandlerWithResponse([](const Request& req, Response& res) {
    if (!res.has_header("X-Request-Id")) res.set_header("X-Request-Id", t_request_id.empty() ? request_id(req) : t_request_id);
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // our own error body
    static const std::map<int, std::pair<const char*, const char*>> kinds{
        {400, {"bad_request", "the request is not valid HTTP"}},
        {404, {"not_found", "no such path (see docs/serve.md)"}},
        {413, {"too_large", "the body is too large"}},
        {414, {"uri_too_long", "the request target is too long"}},
        {416, {"bad_range", "range requests are not supported"}},
        {500, {"internal", "internal error"}}};
    const auto it = kinds.find(res.status);
    const std::string code = it != kinds.end() ? it->second.first : "error";
    std::string message = it != kinds.end() ? it->second.second : "error";
    if (res.status == 404) message = "no such path: " + req.path + " (see docs/serve.md)";
    res.set_content(error_body(code, message, "", res.status == 413 ? "max_body_bytes" : ""), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));
  http_.set_exception_handler([](const Request&, Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, 500, "internal", what);
  });
  http_.set_logger([this](const Request& req, const Response& res) {
    const double seconds = std::chrono::duration<double>(Clock::now() - t_request_start).count();
    metrics_.request(res.status, seconds);
    std::string line = "{\"time\":\"" + utc_now() + "\",\"request_id\":" + json(t_request_id).dump() +
                       ",\"method\":" + json(req.method).dump(-1, ' ', false, json::error_handler_t::replace) +
                       ",\"path\":" + json(req.path).dump(-1, ' ', false, json::error_handler_t::replace) +
                       ",\"status\":" + std::to_string(res.status) + ",\"ms\":" + std::to_string(seconds * 1000) +
                       ",\"remote\":" + json(req.remote_addr).dump() + t_log_extra + "}\n";
    std::fputs(line.c_str(), stderr);
  });
}

// SIGHUP reloads; SIGTERM and SIGINT drain and stop.
void Server::signals(sigset_t set) {
  while (true) {
    int signal = 0;
    if (sigwait(&set, &signal) != 0) continue;
    if (signal == SIGHUP) {
      std::string why;
      const bool ok = reload(why);
      std::fprintf(stderr, "{\"time\":\"%s\",\"event\":\"reload\",\"ok\":%s%s}\n", utc_now().c_str(), ok ? "true" : "false",
                   ok ? "" : (",\"error\":" + json(why).dump()).c_str());
      continue;
    }
    if (signal == 0) return;  // run() ends this thread
    drain();
    return;
  }
}

// No new requests; queued work finishes (at most grace_seconds); then stop.
void Server::drain() {
  draining_ = true;
  std::fprintf(stderr, "{\"time\":\"%s\",\"event\":\"draining\"}\n", utc_now().c_str());
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.grace_seconds));
  while (Clock::now() < until) {
    std::int64_t depth = 0;
    for (const auto& [name, m] : models_) depth += m.queue->depth();
    if (depth == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // answers being written
  http_.stop();
}

int Server::run() {
  // Signals go to one thread (sigwait), not to whichever thread runs.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  load_models();
  routes();
  hooks();
  http_.new_task_queue = [this] { return new CappedPool(std::size_t(o_.http_threads), o_.max_connections); };
  http_.set_payload_max_length(std::size_t(std::max<std::int64_t>(o_.max_body_bytes * 8, 64 << 20)));
  http_.set_read_timeout(10, 0);
  // cpp-httplib writes a response's headers and body in separate writes: with
  // Nagle's algorithm the body waits for the client's delayed ACK (40 ms a request).
  http_.set_tcp_nodelay(true);
  int port = o_.port;
  if (port == 0) {
    port = http_.bind_to_any_port(o_.host);
    XSEQ_CHECK(port > 0, "xseq serve: cannot bind to ", o_.host, " (any port)");
  } else {
    XSEQ_CHECK(http_.bind_to_port(o_.host, port), "xseq serve: cannot bind to ", o_.host, ":", port,
               " (in use, or not an address of this machine)");
  }
  http_.raise_backlog(int(std::min<std::int64_t>(std::max<std::int64_t>(o_.max_connections, 128), 4096)));
  ready_ = true;
  std::thread signal_thread([this, set] { signals(set); });
  std::fprintf(stderr, "{\"time\":\"%s\",\"event\":\"serving\",\"address\":\"http://%s:%d\",\"models\":%zu}\n",
               utc_now().c_str(), o_.host.c_str(), port, models_.size());
  if (!o_.ready_file.empty()) {
    std::ofstream(o_.ready_file + ".tmp") << port << "\n";
    std::rename((o_.ready_file + ".tmp").c_str(), o_.ready_file.c_str());
  }
  http_.listen_after_bind();
  for (auto& [name, m] : models_) m.queue->stop();
  pthread_kill(signal_thread.native_handle(), SIGTERM);  // wakes sigwait if listen ended another way
  signal_thread.join();
  std::fprintf(stderr, "{\"time\":\"%s\",\"event\":\"stopped\"}\n", utc_now().c_str());
  return 0;
}

}  // namespace

int run_server(const ServeOptions& options) {
  XSEQ_CHECK_AS(OptionError, !options.models.empty(), "xseq serve: give a model (--model NAME=CKPT or --checkpoint CKPT)");
  for (const ModelSpec& m : options.models) {
    XSEQ_CHECK_AS(OptionError, !m.name.empty() && m.name.find_first_not_of(
                                                       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
                                                       std::string::npos,
                  "xseq serve: model name '", m.name, "' must be letters, digits, '.', '_' or '-'");
    XSEQ_CHECK_AS(OptionError, !m.checkpoints.empty(), "xseq serve: model '", m.name, "' has no checkpoint");
  }
  Server server(options);
  return server.run();
}

}  // namespace xseq::serve
