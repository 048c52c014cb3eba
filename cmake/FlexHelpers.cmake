# Small helpers so every component's CMakeLists.txt reads the same (STYLE.md, from Abseil).
#
#   flex_cc_library(NAME x SRCS a.cc HDRS_DIR include DEPS flex::y PUBLIC_DEPS ...)
#     -> target flex_x, alias flex::x
#   flex_cc_test(NAME x_test SRCS x_test.cc DEPS flex::x LABELS unit)
#     -> a GoogleTest binary registered with ctest under the given labels
#   flex_cc_bench(NAME x_bench SRCS x_bench.cc DEPS flex::x)
#     -> a Google Benchmark binary in build/bin (not a test)
#   flex_cc_fuzz(NAME x_fuzz SRCS x_fuzz.cc ... CORPUS dir SECONDS 5)
#     -> a libFuzzer binary, run for SECONDS in the suite under the label `fuzz`
include_guard(GLOBAL)

set(FLEX_WARNINGS -Wall -Wextra -Wno-unused-parameter)

function(flex_cc_library)
  cmake_parse_arguments(ARG "" "NAME;HDRS_DIR" "SRCS;DEPS;PUBLIC_DEPS;DEFINES" ${ARGN})
  set(target flex_${ARG_NAME})
  add_library(${target} STATIC ${ARG_SRCS})
  add_library(flex::${ARG_NAME} ALIAS ${target})
  if(ARG_HDRS_DIR)
    target_include_directories(${target} PUBLIC ${ARG_HDRS_DIR})
  endif()
  target_link_libraries(${target} PRIVATE ${ARG_DEPS} PUBLIC ${ARG_PUBLIC_DEPS})
  target_compile_options(${target} PRIVATE ${FLEX_WARNINGS})
  target_compile_definitions(${target} PRIVATE ${ARG_DEFINES})
endfunction()

# Adds every immediate subfolder of the current source folder that has a CMakeLists.txt (libos/, apps/).
function(flex_add_subfolders)
  file(GLOB cmakes CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*/CMakeLists.txt)
  foreach(f ${cmakes})
    get_filename_component(dir ${f} DIRECTORY)
    add_subdirectory(${dir})
  endforeach()
endfunction()

function(flex_cc_test)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;LABELS;DEFINES" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  set_target_properties(${ARG_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_options(${ARG_NAME} PRIVATE ${FLEX_WARNINGS})
  target_compile_definitions(${ARG_NAME} PRIVATE ${ARG_DEFINES}
                             FLEX_SOURCE_DIR="${CMAKE_SOURCE_DIR}" FLEX_BINARY_DIR="${CMAKE_BINARY_DIR}")
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  include(GoogleTest)
  gtest_discover_tests(${ARG_NAME} DISCOVERY_TIMEOUT 60)
  # The labels are set by a file that ctest reads after the discovered tests: gtest_discover_tests (CMake
  # 3.25) writes a list-valued property as separate words, so of "gates;e2e" only "gates" would stay.
  set(labels_file ${CMAKE_CURRENT_BINARY_DIR}/${ARG_NAME}_labels.cmake)
  file(WRITE ${labels_file} "if(${ARG_NAME}_TESTS)\n"
                            "  set_tests_properties(\${${ARG_NAME}_TESTS} PROPERTIES LABELS \"${ARG_LABELS}\")\n"
                            "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${labels_file})
endfunction()

function(flex_cc_bench)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} benchmark::benchmark)
  target_compile_options(${ARG_NAME} PRIVATE ${FLEX_WARNINGS})
endfunction()

function(flex_cc_fuzz)
  cmake_parse_arguments(ARG "" "NAME;CORPUS;SECONDS" "SRCS;DEPS;INCLUDES" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  set_target_properties(${ARG_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_include_directories(${ARG_NAME} PRIVATE ${ARG_INCLUDES})
  target_compile_options(${ARG_NAME} PRIVATE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
  target_link_options(${ARG_NAME} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
  if(NOT ARG_SECONDS)
    set(ARG_SECONDS 5)
  endif()
  set(work ${CMAKE_BINARY_DIR}/fuzz/${ARG_NAME})
  add_test(NAME ${ARG_NAME}
           COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=1
                   $<TARGET_FILE:${ARG_NAME}> -max_total_time=${ARG_SECONDS} -rss_limit_mb=2048
                   -artifact_prefix=${work}/ ${work}/corpus ${ARG_CORPUS})
  set_tests_properties(${ARG_NAME} PROPERTIES LABELS fuzz TIMEOUT 120)
  file(MAKE_DIRECTORY ${work}/corpus)
endfunction()
