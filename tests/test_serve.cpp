// xseq serve as a user sees it: a real server process on a free port of
// 127.0.0.1, real HTTP clients (cpp-httplib), every answer checked against
// `xseq translate` and every error path checked for its status and JSON body.
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "helpers.hpp"
#include "process.hpp"
#include "tiny_config.hpp"
#include "tiny_run.hpp"
#include "train/trainer.hpp"

using namespace xseq;
using xseq::test::Process;
using xseq::test::run_xseq;
using xseq::test::start_xseq;
using json = nlohmann::json;

namespace {

// A tiny trained model.
const std::string& serve_dir() { return xseq::test::tiny_run("test_serve", 60); }
std::string model_path() { return serve_dir() + "/run/last.h5"; }

// A server process; the port it chose; stopped (SIGTERM) when it goes away.
struct Server {
  Process process;
  int port = 0;
  explicit Server(std::vector<std::string> extra, const std::string& tag) {
    const std::string ready = serve_dir() + "/" + tag + ".port";
    std::filesystem::remove(ready);
    std::vector<std::string> args{"serve", "--checkpoint", model_path(), "--port", "0", "--ready-file", ready,
                                  "--threads", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    process = start_xseq(args, "", serve_dir() + "/" + tag);
    for (int i = 0; i < 600 && !std::filesystem::exists(ready); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    REQUIRE(std::filesystem::exists(ready));
    std::ifstream(ready) >> port;
  }
  ~Server() {
    if (process.pid > 0) {
      ::kill(process.pid, SIGTERM);
      process.wait();
    }
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    return c;
  }
  int stop() {  // SIGTERM; the exit code
    ::kill(process.pid, SIGTERM);
    const int code = process.wait();
    process.pid = -1;
    return code;
  }
};

std::vector<std::string> inputs() {
  return {"abc", "fedcba", "", "a", "bbbbbb", "acedb", "ffe", "dcbaf", "ab", "eeeeee", "cafe", "badfec"};
}

// What `xseq translate` prints for the inputs, one line each.
std::vector<std::string> cli_outputs(const std::vector<std::string>& in, const std::vector<std::string>& flags = {}) {
  std::string stdin_text, out;
  for (const auto& s : in) stdin_text += s + "\n";
  std::vector<std::string> args{"translate", "--checkpoint", model_path()};
  args.insert(args.end(), flags.begin(), flags.end());
  REQUIRE(run_xseq(args, stdin_text, serve_dir() + "/cli", &out) == 0);
  std::vector<std::string> lines;
  std::istringstream s(out);
  for (std::string line; std::getline(s, line);) lines.push_back(line);
  return lines;
}

// The error body's code (and that it has the documented shape).
std::string error_code(const httplib::Result& r, int status) {
  REQUIRE(r);
  INFO(r->body);
  CHECK(r->status == status);
  const json body = json::parse(r->body, nullptr, false);
  REQUIRE(body.is_object());
  REQUIRE(body.contains("error"));
  CHECK(body["error"].contains("message"));
  CHECK(r->has_header("X-Request-Id"));
  return body["error"]["code"].get<std::string>();
}

httplib::Result post(httplib::Client& c, const std::string& path, const json& body) {
  return c.Post(path.c_str(), body.dump(), "application/json");
}

}  // namespace

TEST_CASE("serve: 64 concurrent clients get exactly what xseq translate prints", "[server]") {
  Server server({"--max-wait-ms", "20"}, "s64");
  const std::vector<std::string> in = inputs();
  const std::vector<std::string> want = cli_outputs(in);
  std::vector<std::string> got(64 * in.size());
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 64; ++c)
    clients.emplace_back([&, c] {
      auto client = server.client();
      for (std::size_t k = 0; k < in.size(); ++k) {
        const std::size_t i = (k + std::size_t(c)) % in.size();  // each client in its own order
        const auto r = post(client, "/v1/translate", {{"text", in[i]}});
        if (!r || r->status != 200) {
          ++failures;
          continue;
        }
        got[std::size_t(c) * in.size() + i] = json::parse(r->body)["translations"][0]["text"].get<std::string>();
      }
    });
  for (auto& t : clients) t.join();
  CHECK(failures == 0);
  for (int c = 0; c < 64; ++c)
    for (std::size_t i = 0; i < in.size(); ++i) REQUIRE(got[std::size_t(c) * in.size() + i] == want[i]);
  // Batching happened: more sentences than batches.
  auto client = server.client();
  const std::string metrics = client.Get("/metrics")->body;
  CHECK(metrics.find("xseq_batch_size_count") != std::string::npos);
  const auto count_at = metrics.find("xseq_batch_size_count ");
  const auto sum_at = metrics.find("xseq_batch_size_sum ");
  const double batches = std::stod(metrics.substr(count_at + 22)), sentences = std::stod(metrics.substr(sum_at + 20));
  CHECK(sentences == 64.0 * double(in.size()));
  CHECK(batches < sentences);
  CHECK(server.stop() == 0);
}

TEST_CASE("serve: batch requests, n-best, scores, models, health, metrics, request ids", "[server]") {
  Server server({}, "sbatch");
  auto c = server.client();
  const std::vector<std::string> in = inputs();
  const auto r = post(c, "/v1/translate", {{"texts", in}, {"beam", 4}, {"n_best", 2}});
  REQUIRE(r);
  REQUIRE(r->status == 200);
  const json body = json::parse(r->body);
  CHECK(body["model"] == "default");
  const std::vector<std::string> want = cli_outputs(in, {"--beam", "4"});
  REQUIRE(body["translations"].size() == in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const json& t = body["translations"][i];
    CHECK(t["text"] == want[i]);
    CHECK(t["n_best"][0]["text"] == t["text"]);
    CHECK(t["n_best"].size() <= 2);
    CHECK(t["tokens"].size() == t["text"].get<std::string>().size());
  }
  const auto s = post(c, "/v1/score", {{"pairs", {{{"source", "abc"}, {"target", "abc"}}}}});
  REQUIRE(s);
  CHECK(s->status == 200);
  const json score = json::parse(s->body)["scores"][0];
  CHECK(score["tokens"] == json({"a", "b", "c", "</s>"}));
  CHECK(score["log_prob"].get<double>() < 0);
  const auto models = c.Get("/v1/models");
  CHECK(json::parse(models->body)["models"][0]["name"] == "default");
  CHECK(json::parse(models->body)["models"][0]["config"]["type"] == "transformer");
  CHECK(c.Get("/health/live")->status == 200);
  CHECK(c.Get("/health/ready")->status == 200);
  const std::string metrics = c.Get("/metrics")->body;
  for (const char* name : {"xseq_requests_total{code=\"200\"}", "xseq_request_duration_seconds_bucket",
                           "xseq_queue_wait_seconds_count", "xseq_batch_size_bucket", "xseq_queue_depth{model=\"default\"}",
                           "xseq_generated_tokens_total", "xseq_model_load_seconds{model=\"default\"}"})
    CHECK(metrics.find(name) != std::string::npos);
  const auto echoed = c.Get("/health/live", {{"X-Request-Id", "my-request-42"}});
  CHECK(echoed->get_header_value("X-Request-Id") == "my-request-42");
  CHECK(c.Get("/health/live")->get_header_value("X-Request-Id").size() == 16);
}

TEST_CASE("serve: --precision int8 answers as xseq translate --precision int8 and says so in /v1/models", "[server]") {
  Server server({"--precision", "int8"}, "sint8");
  auto c = server.client();
  const std::vector<std::string> in = inputs();
  const auto r = post(c, "/v1/translate", {{"texts", in}});
  REQUIRE(r);
  REQUIRE(r->status == 200);
  const json body = json::parse(r->body);
  const std::vector<std::string> want = cli_outputs(in, {"--precision", "int8"});
  for (std::size_t i = 0; i < in.size(); ++i) CHECK(body["translations"][i]["text"] == want[i]);
  CHECK(json::parse(c.Get("/v1/models")->body)["models"][0]["precision"] == "int8");
}

TEST_CASE("serve: every error has its status and a JSON body, and the server answers after all of them",
          "[server][robust]") {
  Server server({"--max-texts", "3", "--max-chars", "50", "--max-body-bytes", "100000"}, "serr");
  auto c = server.client();
  CHECK(error_code(c.Post("/v1/translate", "not json", "application/json"), 400) == "bad_json");
  CHECK(error_code(c.Post("/v1/translate", "[1, 2]", "application/json"), 400) == "bad_json");
  CHECK(error_code(post(c, "/v1/translate", {{"texts", "abc"}}), 400) == "bad_field");
  CHECK(error_code(post(c, "/v1/translate", {{"texts", {"a", 3}}}), 400) == "bad_field");
  CHECK(error_code(post(c, "/v1/translate", {{"text", "a"}, {"bean", 2}}), 400) == "unknown_field");
  CHECK(error_code(post(c, "/v1/translate", {{"text", "a"}, {"texts", {"b"}}}), 400) == "bad_field");
  CHECK(error_code(post(c, "/v1/translate", json::object()), 400) == "bad_field");
  CHECK(error_code(post(c, "/v1/translate", {{"text", "a"}, {"beam", 0}}), 400) == "bad_field");
  CHECK(error_code(post(c, "/v1/translate", {{"text", "a"}, {"beam", 2}, {"n_best", 3}}), 400) == "bad_field");
  CHECK(error_code(post(c, "/v1/translate", {{"text", "a"}, {"alpha", "high"}}), 400) == "bad_field");
  CHECK(error_code(post(c, "/v1/translate", {{"text", "a\x1b[2J"}}), 400) == "bad_text");
  CHECK(error_code(c.Post("/v1/translate", "{\"text\": \"\xff\xfe\"}", "application/json"), 400) != "");
  CHECK(error_code(post(c, "/v1/translate", {{"text", "a"}, {"model", "nope"}}), 404) == "unknown_model");
  CHECK(error_code(post(c, "/v1/translate", {{"texts", {"a", "b", "c", "d"}}}), 413) == "too_large");
  CHECK(error_code(post(c, "/v1/translate", {{"text", std::string(51, 'a')}}), 413) == "too_large");
  CHECK(error_code(c.Post("/v1/translate", std::string(200000, ' '), "application/json"), 413) == "too_large");
  CHECK(error_code(post(c, "/v1/score", {{"pairs", {{{"source", "a"}}}}}), 400) == "bad_field");
  CHECK(error_code(c.Get("/v1/translate"), 405) == "method_not_allowed");
  CHECK(error_code(c.Delete("/metrics"), 405) == "method_not_allowed");
  CHECK(error_code(c.Get("/no/such/path"), 404) == "not_found");
  CHECK(error_code(post(c, "/admin/reload", json::object()), 403) == "forbidden");
  // ... and it still translates.
  const auto ok = post(c, "/v1/translate", {{"text", "abc"}});
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(server.stop() == 0);
}

TEST_CASE("serve: API key, full queue, deadline, draining and the connection cap", "[server][robust]") {
  const std::string key_file = serve_dir() + "/key";
  std::ofstream(key_file) << "0123456789abcdef-secret\n";
  {
    Server server({"--api-key-file", key_file}, "skey");
    auto c = server.client();
    CHECK(error_code(post(c, "/v1/translate", {{"text", "a"}}), 401) == "unauthorized");
    c.set_bearer_token_auth("wrong-key-of-some-length");
    CHECK(error_code(post(c, "/v1/translate", {{"text", "a"}}), 401) == "unauthorized");
    c.set_bearer_token_auth("0123456789abcdef-secret");
    CHECK(post(c, "/v1/translate", {{"text", "a"}})->status == 200);
    CHECK(post(c, "/admin/reload", json::object())->status == 200);
    CHECK(c.Get("/health/live")->status == 200);  // health needs no key
  }
  {
    // One token of queue: a second request while the first waits is refused.
    Server server({"--max-queued-tokens", "8", "--max-wait-ms", "2000", "--max-batch-tokens", "100000"}, "squeue");
    auto c1 = server.client(), c2 = server.client();
    std::thread first([&] { post(c1, "/v1/translate", {{"text", "abcdef"}}); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto full = post(c2, "/v1/translate", {{"text", "abcdef"}});
    CHECK(error_code(full, 429) == "queue_full");
    CHECK(full->get_header_value("Retry-After") == "1");
    first.join();
  }
  {
    Server server({"--max-wait-ms", "2000", "--max-batch-tokens", "100000"}, "sdeadline");
    auto c = server.client();
    const auto late = post(c, "/v1/translate", {{"text", "abc"}, {"timeout_ms", 50}});
    CHECK(error_code(late, 504) == "deadline");
    CHECK(post(c, "/v1/translate", {{"text", "abc"}})->status == 200);
  }
  {
    Server server({"--max-connections", "1", "--http-threads", "4"}, "scap");
    httplib::Client keep("127.0.0.1", server.port);
    keep.set_keep_alive(true);
    REQUIRE(keep.Get("/health/live")->status == 200);  // holds the one connection open
    auto other = server.client();
    const auto refused = other.Get("/health/live");
    CHECK(error_code(refused, 503) == "too_many_connections");
  }
}

TEST_CASE("serve: SIGTERM drains in-flight requests and exits 0", "[server]") {
  Server server({"--max-wait-ms", "300", "--grace-seconds", "10"}, "sterm");
  std::vector<std::string> many(200, "abcdef");
  std::atomic<int> status{0};
  std::thread inflight([&] {
    auto c = server.client();
    const auto r = post(c, "/v1/translate", {{"texts", many}});
    status = r ? r->status : -1;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // queued, waiting for its batch
  ::kill(server.process.pid, SIGTERM);
  inflight.join();
  CHECK(status == 200);
  CHECK(server.process.wait() == 0);
  server.process.pid = -1;
  const std::string log = Process::slurp(serve_dir() + "/sterm.err");
  CHECK(log.find("\"event\":\"draining\"") != std::string::npos);
  CHECK(log.find("\"event\":\"stopped\"") != std::string::npos);
}

TEST_CASE("serve: SIGHUP reloads under load without losing a request", "[server]") {
  Server server({}, "shup");
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c)
    clients.emplace_back([&] {
      auto client = server.client();
      while (!stop) {
        const auto r = post(client, "/v1/translate", {{"texts", {"abc", "fed", "cafe"}}});
        (r && r->status == 200 ? ok : failed)++;
      }
    });
  for (int k = 0; k < 3; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ::kill(server.process.pid, SIGHUP);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  for (auto& t : clients) t.join();
  CHECK(failed == 0);
  CHECK(ok > 8);
  CHECK(server.stop() == 0);
  const std::string log = Process::slurp(serve_dir() + "/shup.err");
  CHECK(log.find("\"event\":\"reload\",\"ok\":true") != std::string::npos);
}

TEST_CASE("serve: a failed reload keeps the old model and says why", "[server][robust]") {
  const std::string copy = serve_dir() + "/reload.h5";
  std::filesystem::copy_file(model_path(), copy, std::filesystem::copy_options::overwrite_existing);
  const std::string ready = serve_dir() + "/sbadreload.port";
  std::filesystem::remove(ready);
  Process p = start_xseq({"serve", "--model", "m=" + copy, "--port", "0", "--ready-file", ready, "--threads", "1"}, "",
                         serve_dir() + "/sbadreload");
  for (int i = 0; i < 600 && !std::filesystem::exists(ready); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  int port = 0;
  std::ifstream(ready) >> port;
  std::ofstream(copy) << "damaged";  // the checkpoint is gone bad on disk
  ::kill(p.pid, SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  httplib::Client c("127.0.0.1", port);
  const auto r = c.Post("/v1/translate", json{{"text", "abc"}, {"model", "m"}}.dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);  // still the old model
  ::kill(p.pid, SIGTERM);
  CHECK(p.wait() == 0);
  const std::string log = Process::slurp(serve_dir() + "/sbadreload.err");
  CHECK(log.find("\"event\":\"reload\",\"ok\":false,\"error\":") != std::string::npos);
}

TEST_CASE("serve: command-line errors", "[server][cli]") {
  std::string out, err;
  CHECK(run_xseq({"serve"}, "", serve_dir() + "/e1", &out, &err) == 2);
  CHECK(err.find("--model NAME=CKPT") != std::string::npos);
  CHECK(run_xseq({"serve", "--model", "noequals"}, "", serve_dir() + "/e2", &out, &err) == 2);
  CHECK(run_xseq({"serve", "--model", "bad name=x.h5"}, "", serve_dir() + "/e3", &out, &err) == 1);
  CHECK(err.find("must be letters, digits") != std::string::npos);
  CHECK(run_xseq({"serve", "--checkpoint", "no/such.h5", "--port", "0"}, "", serve_dir() + "/e4", &out, &err) == 1);
  CHECK(err.find("no/such.h5") != std::string::npos);
  CHECK(run_xseq({"serv"}, "", serve_dir() + "/e5", &out, &err) == 2);
  CHECK(err.find("did you mean 'serve'?") != std::string::npos);
}
