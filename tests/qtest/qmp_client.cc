#include "qtest/qmp_client.h"

#include <gtest/gtest.h>

namespace machina::qtest {

std::unique_ptr<QmpClient> QmpClient::connect(const std::string& path, bool negotiate, Ms timeout) {
  Fd fd = connect_unix(path, timeout);
  if (!fd.valid()) {
    ADD_FAILURE() << "cannot connect to QMP socket " << path;
    return nullptr;
  }
  auto c = std::make_unique<QmpClient>(std::move(fd));
  if (negotiate && !c->negotiate(timeout)) return nullptr;
  return c;
}

bool QmpClient::negotiate(Ms timeout) {
  auto g = read_object(timeout);
  if (!g) return false;
  if (!g->is_object() || !g->contains("QMP")) {
    ADD_FAILURE() << "expected a QMP greeting, got " << g->dump();
    return false;
  }
  greeting_ = *g;
  json r = request(json{{"execute", "qmp_capabilities"}}, timeout);
  if (!r.is_object() || !r.contains("return")) {
    ADD_FAILURE() << "qmp_capabilities failed: " << r.dump();
    return false;
  }
  return true;
}

bool QmpClient::send_raw(std::string_view bytes, int pass_fd) {
  if (!fd_.valid() || !send_all(fd_.get(), bytes, pass_fd)) {
    ADD_FAILURE() << "QMP send failed";
    return false;
  }
  return true;
}

std::optional<std::string> QmpClient::next_value_text() {
  size_t i = 0;
  while (i < buf_.size() &&
         (buf_[i] == ' ' || buf_[i] == '\r' || buf_[i] == '\n' || buf_[i] == '\t')) {
    ++i;
  }
  if (i == buf_.size()) {
    buf_.clear();
    return std::nullopt;
  }
  int depth = 0;
  bool in_str = false, esc = false;
  for (size_t j = i; j < buf_.size(); ++j) {
    char c = buf_[j];
    if (in_str) {
      if (esc) {
        esc = false;
      } else if (c == '\\') {
        esc = true;
      } else if (c == '"') {
        in_str = false;
      }
      continue;
    }
    if (c == '"') {
      in_str = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    }
    if (depth <= 0) {
      std::string text = buf_.substr(i, j + 1 - i);
      buf_.erase(0, j + 1);
      return text;
    }
  }
  return std::nullopt;
}

std::optional<json> QmpClient::read_object(Ms timeout, bool expect_data) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto text = next_value_text()) {
      json v = json::parse(*text, nullptr, /*allow_exceptions=*/false);
      if (v.is_discarded() || !v.is_object()) {
        ADD_FAILURE() << "QMP server sent something that is not a JSON object: " << *text;
        continue;
      }
      return v;
    }
    if (!fd_.valid() || eof_) {
      if (expect_data) ADD_FAILURE() << "QMP connection closed by the server";
      return std::nullopt;
    }
    size_t before = buf_.size();
    ReadResult r = read_some(fd_.get(), buf_, deadline);
    if (r == ReadResult::Data) {
      received_.append(buf_, before, std::string::npos);
      continue;
    }
    if (r == ReadResult::Eof || r == ReadResult::Error) {
      eof_ = true;
      if (expect_data) ADD_FAILURE() << "QMP connection closed by the server";
      return std::nullopt;
    }
    if (expect_data) ADD_FAILURE() << "timed out waiting for QMP output";
    return std::nullopt;
  }
}

std::optional<json> QmpClient::read_reply(Ms timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
    auto v = read_object(left < Ms(0) ? Ms(0) : left);
    if (!v) return std::nullopt;
    if (v->contains("event")) {
      events_.push_back(std::move(*v));
      continue;
    }
    return v;
  }
}

json QmpClient::request(const json& req, Ms timeout, int pass_fd) {
  if (!send_raw(req.dump() + "\n", pass_fd)) return json();
  auto r = read_reply(timeout);
  if (!r) {
    ADD_FAILURE() << "no reply to " << req.dump();
    return json();
  }
  return *r;
}

json QmpClient::execute(const std::string& name, const json& args, Ms timeout) {
  json req{{"execute", name}};
  if (!args.is_null()) req["arguments"] = args;
  return request(req, timeout);
}

json QmpClient::execute_raw(std::string_view text, Ms timeout) {
  if (!send_raw(text)) return json();
  auto r = read_reply(timeout);
  if (!r) {
    ADD_FAILURE() << "no reply to raw input " << text;
    return json();
  }
  return *r;
}

std::optional<json> QmpClient::wait_event(const std::string& name, Ms timeout) {
  for (auto it = events_.begin(); it != events_.end(); ++it) {
    if ((*it)["event"] == name) {
      json e = std::move(*it);
      events_.erase(it);
      return e;
    }
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
    if (left <= Ms(0)) {
      ADD_FAILURE() << "timed out waiting for event " << name;
      return std::nullopt;
    }
    auto v = read_object(left, /*expect_data=*/false);
    if (!v) {
      ADD_FAILURE() << "event " << name << " never arrived"
                    << (eof_ ? " (connection closed)" : " (timeout)");
      return std::nullopt;
    }
    if (v->contains("event") && (*v)["event"] == name) return v;
    if (v->contains("event")) {
      events_.push_back(std::move(*v));
    } else {
      ADD_FAILURE() << "unexpected reply while waiting for event " << name << ": " << v->dump();
    }
  }
}

void QmpClient::drain(Ms grace) {
  auto deadline = std::chrono::steady_clock::now() + grace;
  for (;;) {
    auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
    if (left <= Ms(0)) return;
    auto v = read_object(left, /*expect_data=*/false);
    if (!v) return;
    if (v->contains("event")) {
      events_.push_back(std::move(*v));
    } else {
      ADD_FAILURE() << "unexpected reply " << v->dump();
    }
  }
}

std::string error_class(const json& reply) {
  if (!reply.is_object() || !reply.contains("error") || !reply["error"].is_object()) return "";
  const json& e = reply["error"];
  return e.contains("class") && e["class"].is_string() ? e["class"].get<std::string>() : "?";
}

std::string error_desc(const json& reply) {
  if (!reply.is_object() || !reply.contains("error") || !reply["error"].is_object()) return "";
  const json& e = reply["error"];
  return e.contains("desc") && e["desc"].is_string() ? e["desc"].get<std::string>() : "";
}

}  // namespace machina::qtest
