// I/O threads: see iothread.h.
#include "system/iothread.h"

#include <pthread.h>
#include <unistd.h>

#include <future>

#include "qom/property-types.h"
#include "util/bql.h"
#include "util/thread-signals.h"

namespace machina {

IOThread::IOThread() : loop_(std::make_unique<MainLoop>(MainLoop::Timers::kNone)) {}

IOThread::~IOThread() {
  if (!thread_.joinable()) return;
  loop_->quit();
  // The thread takes the big lock to run its handlers: let it finish its iteration.
  if (bql_locked()) {
    BqlUnlockGuard unlocked;
    thread_.join();
  } else {
    thread_.join();
  }
}

Status IOThread::complete() {
  std::promise<pid_t> started;
  auto tid = started.get_future();
  std::string name = ("IO " + id()).substr(0, 15);  // the kernel's limit for thread names
  for (int64_t v : {poll_max_ns_, poll_grow_, poll_shrink_, aio_max_batch_}) {
    if (v < 0)
      return generic_error("iothread properties must be in range [0, 9223372036854775807]");
  }
  thread_ = std::thread([this, name, &started] {
    block_all_signals_in_this_thread();
    pthread_setname_np(pthread_self(), name.c_str());
    started.set_value(gettid());
    loop_->run();
  });
  tid_.store(tid.get(), std::memory_order_release);
  return Status::Ok();
}

Status IOThread::can_be_deleted() {
  if (users_ > 0) return generic_error("object '" + id() + "' is in use, can not be deleted");
  return Status::Ok();
}

std::vector<IOThread*> iothreads() {
  std::vector<IOThread*> out;
  container_get("/objects")->for_each_child([&](Object& o) {
    if (auto* t = dynamic_cast<IOThread*>(&o)) out.push_back(t);
    return true;
  });
  return out;
}

namespace {

TypeRegistration iothread_type{TypeInfo{
    .name = kTypeIOThread,
    .parent = "object",
    .interfaces = {kTypeUserCreatable},
    .instance_new = [] { return new IOThread(); },
    .class_init =
        [](ObjectClass& c) {
          c.add_property(
              prop::integer<IOThread, int64_t>("poll-max-ns", &IOThread::poll_max_ns_, 32768));
          c.add_property(prop::integer<IOThread, int64_t>("poll-grow", &IOThread::poll_grow_, 0));
          c.add_property(
              prop::integer<IOThread, int64_t>("poll-shrink", &IOThread::poll_shrink_, 0));
          c.add_property(
              prop::integer<IOThread, int64_t>("aio-max-batch", &IOThread::aio_max_batch_, 0));
        },
}};

}  // namespace

}  // namespace machina
