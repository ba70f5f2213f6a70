#include "chardev/char-mux.h"

#include <algorithm>

#include "chardev/char-options.h"
#include "util/main-loop.h"

namespace machina {

namespace {

constexpr size_t kMuxBuffer = 32;

TypeRegistration mux_type{{
    .name = kTypeChardevMux,
    .parent = kTypeChardev,
    .instance_new = [] { return static_cast<Object*>(new MuxChardev); },
}};

}  // namespace

MuxChardev::~MuxChardev() {
  if (prepare_id_) main_loop().remove_prepare_hook(prepare_id_);
  for (CharFrontend* fe : fes_) {
    if (fe) fe->forget_chardev();
  }
}

Status MuxChardev::open(const ChardevOptions& opts) {
  auto base_id = opt_string(opts, "chardev");
  if (!base_id || base_id->empty()) return generic_error("chardev: mux: no chardev given");
  Chardev* base = chardev_find(*base_id);
  if (!base) return generic_error("mux: base chardev " + *base_id + " not found");
  if (Status s = base_fe_.init(base); !s.ok()) return s;
  set_filename("mux");
  base_fe_.set_handlers([this] { return base_can_read(); },
                        [this](const uint8_t* b, size_t n) { base_read(b, n); },
                        [this](ChardevEvent ev) { base_event(ev); });
  prepare_id_ = main_loop().add_prepare_hook([this] { flush_input(); });
  return Status::Ok();
}

bool MuxChardev::busy() const {
  return std::any_of(fes_.begin(), fes_.end(), [](CharFrontend* fe) { return fe != nullptr; });
}

bool MuxChardev::frontend_open() const {
  return std::any_of(fes_.begin(), fes_.end(),
                     [](CharFrontend* fe) { return fe && fe->is_open(); });
}

Result<int> MuxChardev::attach_frontend(CharFrontend* fe) {
  if (count_ >= kMaxFrontends) {
    return generic_error("too many uses of multiplexed chardev '" + label() + "' (maximum is " +
                         std::to_string(kMaxFrontends) + ")");
  }
  int tag = count_++;
  fes_[tag] = fe;
  pending_[tag].clear();
  return tag;
}

void MuxChardev::detach_frontend(CharFrontend* fe) {
  for (int i = 0; i < kMaxFrontends; i++) {
    if (fes_[i] != fe) continue;
    fes_[i] = nullptr;
    pending_[i].clear();
    if (focus_ == i) focus_ = -1;
  }
}

void MuxChardev::set_focus(int tag) {
  if (focus_ >= 0 && fes_[focus_]) fes_[focus_]->deliver_event(ChardevEvent::MuxOut);
  focus_ = tag;
  if (focus_ >= 0 && fes_[focus_]) fes_[focus_]->deliver_event(ChardevEvent::MuxIn);
  base_fe_.accept_input();
}

void MuxChardev::frontend_handlers_changed(CharFrontend* fe) {
  int tag = fe->tag();
  if (tag < 0 || tag >= kMaxFrontends || fes_[tag] != fe) return;
  if (fe->is_open()) {
    set_focus(tag);  // the frontend opened last takes the focus, as QEMU
    if (backend_open()) fe->deliver_event(ChardevEvent::Opened);
  }
  base_fe_.accept_input();
}

size_t MuxChardev::frontend_write(CharFrontend*, const uint8_t* buf, size_t len) {
  return base_fe_.write(buf, len);
}

void MuxChardev::frontend_accept_input(CharFrontend*) {
  flush_input();
  base_fe_.accept_input();
}

void MuxChardev::frontend_want_writable(CharFrontend* fe) {
  int tag = fe->tag();
  base_fe_.notify_writable([this, tag, fe] {
    if (tag >= 0 && tag < kMaxFrontends && fes_[tag] == fe) fe->fire_writable();
  });
}

size_t MuxChardev::base_can_read() {
  if (focus_ < 0 || !fes_[focus_]) return 0;
  size_t used = pending_[focus_].size();
  return used < kMuxBuffer ? kMuxBuffer - used : 0;
}

void MuxChardev::base_read(const uint8_t* buf, size_t len) {
  for (size_t i = 0; i < len; i++) process_byte(buf[i]);
  flush_input();
}

void MuxChardev::base_event(ChardevEvent ev) {
  be_event(ev);  // records the backend state
  for (CharFrontend* fe : fes_) {
    if (fe) fe->deliver_event(ev);
  }
}

void MuxChardev::print(std::string_view s) {
  base_fe_.write(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

void MuxChardev::process_byte(uint8_t ch) {
  if (got_escape_) {
    got_escape_ = false;
    switch (ch) {
      case kEscapeChar:
        break;  // C-a C-a: the escape character itself goes through
      case 'h':
      case '?':
        print(
            "\n\r"
            "C-a h    print this help\n\r"
            "C-a x    exit emulator\n\r"
            "C-a s    save disk data back to file (if -snapshot)\n\r"
            "C-a t    toggle console timestamps\n\r"
            "C-a b    send break (magic sysrq)\n\r"
            "C-a c    switch between console and monitor\n\r"
            "C-a C-a  sends C-a\n\r");
        return;
      case 'x':
        print("QEMU: Terminated\n\r");
        chardev_call_quit_hook();
        return;
      case 'b':
        if (focus_ >= 0 && fes_[focus_]) fes_[focus_]->deliver_event(ChardevEvent::Break);
        return;
      case 'c': {
        // Next attached frontend after the focused one.
        for (int step = 1; step <= count_; step++) {
          int next = (focus_ + step) % count_;
          if (fes_[next]) {
            set_focus(next);
            break;
          }
        }
        return;
      }
      case 't':
        timestamps_ = !timestamps_;
        return;
      default:
        return;  // 's' and unknown commands are consumed
    }
  } else if (ch == kEscapeChar) {
    got_escape_ = true;
    return;
  }
  if (focus_ >= 0 && fes_[focus_]) pending_[focus_].push_back(char(ch));
}

void MuxChardev::flush_input() {
  if (focus_ < 0) return;
  CharFrontend* fe = fes_[focus_];
  std::string& buf = pending_[focus_];
  while (fe && !buf.empty()) {
    size_t can = std::min(fe->can_read(), buf.size());
    if (can == 0) break;
    std::string chunk = buf.substr(0, can);
    buf.erase(0, can);
    fe->deliver(reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size());
    if (focus_ < 0 || fes_[focus_] != fe) break;  // focus moved or frontend detached
  }
}

}  // namespace machina
