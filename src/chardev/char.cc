#include "chardev/char.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <memory>

#include "chardev/char-fe.h"
#include "chardev/char-options.h"
#include "util/main-loop.h"

namespace machina {

namespace {

TypeRegistration chardev_type{{
    .name = kTypeChardev,
    .parent = "object",
    .abstract = true,
}};

std::function<void()>& quit_hook() {
  static auto* fn = new std::function<void()>;
  return *fn;
}

// A BH per chardev that reports writability for backends that never block.
struct WritableBhs {
  std::map<Chardev*, std::unique_ptr<BottomHalf>> bhs;
};
WritableBhs& writable_bhs() {
  static auto* w = new WritableBhs;
  return *w;
}

Object* chardevs_root() {
  return container_get("/chardevs");
}

}  // namespace

// ---------------------------------------------------------------- Chardev

Chardev::~Chardev() {
  writable_bhs().bhs.erase(this);
  if (fe_) fe_->forget_chardev();
  if (log_fd_ >= 0) close(log_fd_);
}

bool Chardev::frontend_open() const {
  return fe_ && fe_->is_open();
}

Result<int> Chardev::attach_frontend(CharFrontend* fe) {
  if (fe_ && fe_ != fe) return generic_error("Device '" + label_ + "' is in use");
  fe_ = fe;
  return 0;
}

void Chardev::detach_frontend(CharFrontend* fe) {
  if (fe_ != fe) return;
  fe_ = nullptr;
  auto it = writable_bhs().bhs.find(this);
  if (it != writable_bhs().bhs.end()) it->second->cancel();
  accept_input();  // stops reading: no one to read for
}

void Chardev::frontend_handlers_changed(CharFrontend* fe) {
  if (fe != fe_) return;
  accept_input();
  if (fe->is_open() && be_open_) fe->deliver_event(ChardevEvent::Opened);
}

size_t Chardev::frontend_write(CharFrontend*, const uint8_t* buf, size_t len) {
  size_t n = write_some(buf, len);
  if (log_fd_ >= 0 && n > 0) {
    size_t off = 0;
    while (off < n) {
      ssize_t w = ::write(log_fd_, buf + off, n - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      off += size_t(w);
    }
  }
  return n;
}

void Chardev::frontend_want_writable(CharFrontend* fe) {
  if (fe != fe_) return;
  request_writable();
}

size_t Chardev::be_can_read() {
  return fe_ ? fe_->can_read() : 0;
}

void Chardev::be_read(const uint8_t* buf, size_t len) {
  if (fe_) fe_->deliver(buf, len);
}

void Chardev::be_event(ChardevEvent ev) {
  if (ev == ChardevEvent::Opened) be_open_ = true;
  if (ev == ChardevEvent::Closed) be_open_ = false;
  if (fe_) fe_->deliver_event(ev);
}

void Chardev::be_writable() {
  if (fe_) fe_->fire_writable();
}

void Chardev::request_writable() {
  // Never blocks: report writability from the loop, not from inside the caller's write path.
  auto& slot = writable_bhs().bhs[this];
  if (!slot) slot = std::make_unique<BottomHalf>(main_loop(), [this] { be_writable(); });
  slot->schedule();
}

Status Chardev::open_log(const ChardevOptions& opts) {
  auto it = opts.find("logfile");
  if (it == opts.end()) return Status::Ok();
  auto append = opt_bool(opts, "logappend", false);
  if (!append.ok()) return append.status();
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (*append ? O_APPEND : O_TRUNC);
  log_fd_ = ::open(it->second.c_str(), flags, 0666);
  if (log_fd_ < 0) {
    return generic_error("Unable to open logfile " + it->second + ": " + strerror(errno));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- registry

namespace {

bool id_wellformed(std::string_view id) {
  if (id.empty() || !isalpha(static_cast<unsigned char>(id[0]))) return false;
  for (char c : id) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') return false;
  }
  return true;
}

Result<Chardev*> create_one(const std::string& backend, const std::string& id,
                            const ChardevOptions& opts) {
  if (chardevs_root()->child(id)) return generic_error("Duplicate ID '" + id + "' for chardev");
  std::string type = "chardev-" + backend;
  const TypeImpl* ti = type_lookup(type);
  if (!ti || ti->is_abstract() || !ti->is_a(kTypeChardev)) {
    return generic_error("'" + backend + "' is not a valid char driver name");
  }
  auto obj = object_new(type);
  if (!obj.ok()) return obj.error();
  auto* chr = static_cast<Chardev*>(object_dynamic_cast(obj.value().get(), kTypeChardev));
  if (!chr) return generic_error("'" + backend + "' is not a valid char driver name");
  chr->set_label(id);
  if (Status s = chr->open_log(opts); !s.ok()) return s.error();
  if (Status s = chr->open(opts); !s.ok()) return s.error();
  if (Status s = chardevs_root()->add_child(id, chr); !s.ok()) return s.error();
  return chr;  // the tree holds a reference now; `obj` drops ours
}

}  // namespace

Result<Chardev*> chardev_new(const ChardevOptions& opts) {
  auto id_it = opts.find("id");
  if (id_it == opts.end()) return generic_error("Parameter 'id' is missing");
  const std::string& id = id_it->second;
  if (!id_wellformed(id)) return generic_error("Parameter 'id' expects an identifier");
  auto be_it = opts.find("backend");
  if (be_it == opts.end() || be_it->second.empty()) {
    return generic_error("chardev: \"" + id + "\" missing backend");
  }
  if (Status s = check_chardev_options(opts); !s.ok()) return s.error();
  auto mux = opt_bool(opts, "mux", false);
  if (!mux.ok()) return mux.error();
  if (!*mux) return create_one(be_it->second, id, opts);

  if (chardevs_root()->child(id)) return generic_error("Duplicate ID '" + id + "' for chardev");
  ChardevOptions base_opts = opts;
  base_opts.erase("mux");
  std::string base_id = id + "-base";
  base_opts["id"] = base_id;
  auto base = create_one(be_it->second, base_id, base_opts);
  if (!base.ok()) return base;
  ChardevOptions mux_opts{{"backend", "mux"}, {"id", id}, {"chardev", base_id}};
  auto m = create_one("mux", id, mux_opts);
  if (!m.ok()) (void)chardev_remove(base_id);
  return m;
}

Chardev* chardev_find(std::string_view id) {
  Object* o = chardevs_root()->child(id);
  return o ? static_cast<Chardev*>(object_dynamic_cast(o, kTypeChardev)) : nullptr;
}

Status chardev_remove(std::string_view id) {
  Chardev* chr = chardev_find(id);
  if (!chr) return generic_error("Chardev '" + std::string(id) + "' not found");
  if (chr->busy()) return generic_error("Chardev '" + std::string(id) + "' is busy");
  chr->unparent();
  return Status::Ok();
}

json chardev_query() {
  json list = json::array();
  chardevs_root()->for_each_child([&](Object& o) {
    if (auto* chr = static_cast<Chardev*>(object_dynamic_cast(&o, kTypeChardev))) {
      list.push_back(json{{"label", chr->label()},
                          {"filename", chr->filename()},
                          {"frontend-open", chr->frontend_open()}});
    }
    return true;
  });
  return list;
}

void chardev_remove_all() {
  // Muxes first: they are frontends of their base chardevs.
  for (int pass = 0; pass < 2; pass++) {
    std::vector<Object*> victims;
    chardevs_root()->for_each_child([&](Object& o) {
      bool is_mux = o.is_a("chardev-mux");
      if ((pass == 0) == is_mux) victims.push_back(&o);
      return true;
    });
    for (Object* o : victims) o->unparent();
  }
}

void chardev_set_quit_hook(std::function<void()> fn) {
  quit_hook() = std::move(fn);
}

void chardev_call_quit_hook() {
  if (quit_hook()) {
    quit_hook()();
  } else {
    main_loop().quit();
  }
}

}  // namespace machina
