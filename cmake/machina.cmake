# machina_library(NAME DIRS d1 d2 DEPS ...): a static library from every .cc in src/<d>.
function(machina_library name)
  cmake_parse_arguments(ML "" "" "DIRS;DEPS" ${ARGN})
  set(srcs)
  foreach(d ${ML_DIRS})
    file(GLOB s CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/${d}/*.cc)
    list(APPEND srcs ${s})
  endforeach()
  if(NOT srcs)
    set(srcs ${CMAKE_SOURCE_DIR}/cmake/empty.cc)
  endif()
  add_library(${name} STATIC ${srcs})
  # Dependencies between machina libraries are listed by the executables, which link them whole.
  target_link_libraries(${name} PUBLIC nlohmann_json::nlohmann_json Threads::Threads)
endfunction()

# Links machina libraries whole, so that their static type registrations are kept.
function(machina_link_whole target)
  foreach(lib ${ARGN})
    target_link_libraries(${target} PRIVATE "$<LINK_LIBRARY:WHOLE_ARCHIVE,${lib}>")
  endforeach()
endfunction()

# machina_test(NAME DIR DEPS libs... LABELS ...): one GoogleTest binary from tests/DIR/*.cc.
function(machina_test name dir)
  cmake_parse_arguments(MT "" "" "DEPS;LABELS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/${dir}/*.cc)
  if(NOT srcs)
    return()
  endif()
  add_executable(${name} ${srcs})
  machina_link_whole(${name} ${MT_DEPS})
  target_link_libraries(${name} PRIVATE GTest::gtest GTest::gmock GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  if(NOT MT_LABELS)
    set(MT_LABELS unit)
  endif()
  if(MT_LABELS STREQUAL "guest")
    # A guest boot is timing-sensitive (Linux calibrates its clocks against the PIT): one at a
    # time, alone. The whole binary is one ctest test, so that the tests sharing a boot (a
    # suite's SetUpTestSuite) really share it; gtest's output names each test.
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES LABELS "${MT_LABELS}" RUN_SERIAL TRUE)
  else()
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${MT_LABELS}")
  endif()
endfunction()
