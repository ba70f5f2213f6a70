// EventNotifier: see event_notifier.h.
#include "util/event_notifier.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace machina {

Result<std::shared_ptr<EventNotifier>> EventNotifier::create() {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return generic_error(std::string("eventfd: ") + std::strerror(errno));
  live_.fetch_add(1, std::memory_order_acq_rel);
  return std::shared_ptr<EventNotifier>(new EventNotifier(fd));
}

EventNotifier::~EventNotifier() {
  ::close(fd_);
  live_.fetch_sub(1, std::memory_order_acq_rel);
}

void EventNotifier::set() {
  uint64_t one = 1;
  ssize_t r;
  do {
    r = ::write(fd_, &one, sizeof one);
  } while (r < 0 && errno == EINTR);
  // EAGAIN: the counter is saturated, which still reads as set.
}

bool EventNotifier::test_and_clear() {
  uint64_t v = 0;
  ssize_t r;
  do {
    r = ::read(fd_, &v, sizeof v);
  } while (r < 0 && errno == EINTR);
  return r == sizeof v && v != 0;
}

}  // namespace machina
