# FindOnnxRuntime — ONNX Runtime's C/C++ API for predictd. Owns the lookup only: the files come
# from tools/install-deps, which puts a pinned, checksummed build into .deps/onnxruntime/
# (include/, lib/libonnxruntime.so.<version> with its .so.1 and .so links). Another tree with the
# same layout (e.g. an official release archive) can be used with -DONNXRUNTIME_ROOT=<dir>.
#
# Defines:
#   OnnxRuntime::OnnxRuntime     imported shared library (include dir, IMPORTED_LOCATION, SONAME)
#   OnnxRuntime_FOUND, OnnxRuntime_INCLUDE_DIR, OnnxRuntime_LIBRARY (the real file)
#   OnnxRuntime_LIBRARY_FILES    the real .so file and its soname link, to install() together
#   OnnxRuntime_SONAME           e.g. libonnxruntime.so.1
#   OnnxRuntime_VERSION          from the real file's name (libonnxruntime.so.1.30.0), if it has one
#   OnnxRuntime_API_VERSION      the headers' ORT_API_VERSION (must be <= the library's minor)

# The default is this repository's .deps/onnxruntime (found from this file, so it holds when
# predictd is not the top-level project, or when another project borrows this module).
get_filename_component(_ort_default_root "${CMAKE_CURRENT_LIST_DIR}/../.deps/onnxruntime" ABSOLUTE)
set(ONNXRUNTIME_ROOT "${_ort_default_root}"
    CACHE PATH "ONNX Runtime tree (include/, lib/); tools/install-deps fills the default")

# A changed ONNXRUNTIME_ROOT forgets what the previous one found.
if(DEFINED _OnnxRuntime_ROOT_SEEN AND NOT _OnnxRuntime_ROOT_SEEN STREQUAL ONNXRUNTIME_ROOT)
  unset(OnnxRuntime_INCLUDE_DIR CACHE)
  unset(OnnxRuntime_LINK_LIBRARY CACHE)
endif()
set(_OnnxRuntime_ROOT_SEEN "${ONNXRUNTIME_ROOT}" CACHE INTERNAL "")

find_path(OnnxRuntime_INCLUDE_DIR NAMES onnxruntime_cxx_api.h
          PATHS "${ONNXRUNTIME_ROOT}/include" "${ONNXRUNTIME_ROOT}/include/onnxruntime"
          NO_DEFAULT_PATH)
find_library(OnnxRuntime_LINK_LIBRARY NAMES onnxruntime
             PATHS "${ONNXRUNTIME_ROOT}/lib" NO_DEFAULT_PATH)

if(OnnxRuntime_INCLUDE_DIR AND EXISTS "${OnnxRuntime_INCLUDE_DIR}/onnxruntime_c_api.h")
  file(STRINGS "${OnnxRuntime_INCLUDE_DIR}/onnxruntime_c_api.h" _ort_api_line
       REGEX "^#define ORT_API_VERSION [0-9]+")
  string(REGEX REPLACE "^#define ORT_API_VERSION ([0-9]+).*" "\\1" OnnxRuntime_API_VERSION
                       "${_ort_api_line}")
endif()

if(OnnxRuntime_LINK_LIBRARY)
  # The real file behind libonnxruntime.so, and the soname the linker records (read with readelf
  # where there is one; ONNX Runtime's has been libonnxruntime.so.1 for years).
  get_filename_component(OnnxRuntime_LIBRARY "${OnnxRuntime_LINK_LIBRARY}" REALPATH)
  get_filename_component(_ort_libdir "${OnnxRuntime_LINK_LIBRARY}" DIRECTORY)
  set(OnnxRuntime_SONAME "")
  if(CMAKE_READELF)
    execute_process(COMMAND "${CMAKE_READELF}" -d "${OnnxRuntime_LIBRARY}"
                    OUTPUT_VARIABLE _ort_dynamic ERROR_QUIET RESULT_VARIABLE _ort_rc)
    if(_ort_rc EQUAL 0 AND _ort_dynamic MATCHES "\\(SONAME\\)[^[]*\\[([^]]+)\\]")
      set(OnnxRuntime_SONAME "${CMAKE_MATCH_1}")
    endif()
  endif()
  if(NOT OnnxRuntime_SONAME)
    set(OnnxRuntime_SONAME libonnxruntime.so.1)
  endif()
  get_filename_component(_ort_real_name "${OnnxRuntime_LIBRARY}" NAME)
  if(_ort_real_name MATCHES "^libonnxruntime\\.so\\.([0-9]+\\.[0-9]+\\.[0-9]+)$")
    set(OnnxRuntime_VERSION "${CMAKE_MATCH_1}")
  endif()
  set(OnnxRuntime_LIBRARY_FILES "${OnnxRuntime_LIBRARY}")
  if(EXISTS "${_ort_libdir}/${OnnxRuntime_SONAME}")
    list(APPEND OnnxRuntime_LIBRARY_FILES "${_ort_libdir}/${OnnxRuntime_SONAME}")
  endif()
  list(REMOVE_DUPLICATES OnnxRuntime_LIBRARY_FILES)
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OnnxRuntime
  REQUIRED_VARS OnnxRuntime_LIBRARY OnnxRuntime_INCLUDE_DIR OnnxRuntime_API_VERSION
  VERSION_VAR OnnxRuntime_VERSION
  FAIL_MESSAGE "No ONNX Runtime in ONNXRUNTIME_ROOT=${ONNXRUNTIME_ROOT}: run tools/install-deps")

if(OnnxRuntime_FOUND AND OnnxRuntime_VERSION)
  string(REGEX MATCH "^[0-9]+\\.([0-9]+)" _ort_major_minor "${OnnxRuntime_VERSION}")
  if(OnnxRuntime_API_VERSION GREATER CMAKE_MATCH_1)
    message(FATAL_ERROR "ONNX Runtime headers (ORT_API_VERSION ${OnnxRuntime_API_VERSION}) are "
                        "newer than the library (${OnnxRuntime_VERSION}) in ${ONNXRUNTIME_ROOT}")
  endif()
endif()

if(OnnxRuntime_FOUND AND NOT TARGET OnnxRuntime::OnnxRuntime)
  add_library(OnnxRuntime::OnnxRuntime SHARED IMPORTED)
  set_target_properties(OnnxRuntime::OnnxRuntime PROPERTIES
    IMPORTED_LOCATION "${OnnxRuntime_LIBRARY}"
    IMPORTED_SONAME "${OnnxRuntime_SONAME}"
    INTERFACE_INCLUDE_DIRECTORIES "${OnnxRuntime_INCLUDE_DIR}")
endif()

mark_as_advanced(OnnxRuntime_INCLUDE_DIR OnnxRuntime_LINK_LIBRARY)
unset(_ort_default_root)
unset(_ort_api_line)
unset(_ort_libdir)
unset(_ort_dynamic)
unset(_ort_rc)
unset(_ort_real_name)
unset(_ort_major_minor)
