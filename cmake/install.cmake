# What `cmake --install` (and `make install PREFIX=...`) puts under the prefix:
#   include/synack/*.h                  the public headers
#   lib/libsynack.so.2.0.0, .so.2, .so  the core: libc only, <synack/synack.h>
#   lib/libsynack.a
#   lib/libsynack-drivers.so..., .a     the drivers, <synack/link.h>: simulator, TUN, UDP
#                                       and in-process links, fault and pcap wrappers,
#                                       event loop; on top of libsynack, libpcap, threads
#   lib/libsynack-socket.so..., .a      the BSD socket API over a runtime, <synack/socket.h>;
#                                       on top of libsynack-drivers and threads
#   lib/pkgconfig/synack.pc, synack-drivers.pc, synack-socket.pc
#   lib/cmake/synack/                   find_package(synack CONFIG): synack::synack,
#                                       synack::synack_static, synack::drivers,
#                                       synack::drivers_static (aliased so in this tree too)
#   bin/synack                          the command
# The libraries are made of the objects of the tree's synack_core and synack_drivers, so
# each source is compiled once. The soname carries the major version (libsynack.so.2),
# which changes when the ABI breaks (README, "Install").
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Static libraries of the install are prelinked: their objects linked into one (ld -r)
# whose hidden symbols are then made local (objcopy --localize-hidden), so that the
# archive defines only the public API, as the shared library exports it, and an internal
# function (tcp_input, ring_init, ...) cannot clash with one of the program's.
set(SYNACK_PRELINK_DIR ${CMAKE_CURRENT_BINARY_DIR}/prelink)

# synack_installed_library(OBJECTS NAME EXPORT): libNAME.so (target OBJECTS_shared) and
# libNAME.a (OBJECTS_static), both of the objects of the tree's static library OBJECTS,
# exported as synack::EXPORT and synack::EXPORT_static. Those objects are compiled with
# hidden visibility: only what the public headers declare is exported (their #pragma GCC
# visibility), checked by tests/install/symbols.sh.
function(synack_installed_library objects name export)
  set_target_properties(${objects} PROPERTIES C_VISIBILITY_PRESET hidden)
  set(include_dirs $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

  add_library(${objects}_shared SHARED $<TARGET_OBJECTS:${objects}>)
  set_target_properties(${objects}_shared PROPERTIES OUTPUT_NAME ${name} EXPORT_NAME ${export}
    VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
  target_include_directories(${objects}_shared INTERFACE ${include_dirs})
  if(NOT SYNACK_SANITIZE AND NOT SYNACK_FUZZ)
    # Every symbol the library uses comes from a library it names (NEEDED): nothing is
    # left for the program to provide. (Sanitized builds leave the runtime to the program.)
    target_link_options(${objects}_shared PRIVATE LINKER:-z,defs)
  endif()
  add_library(synack::${export} ALIAS ${objects}_shared)

  add_library(${objects}_static STATIC $<TARGET_OBJECTS:${objects}>)
  set_target_properties(${objects}_static PROPERTIES OUTPUT_NAME ${name}
    EXPORT_NAME ${export}_static)
  target_include_directories(${objects}_static INTERFACE ${include_dirs})
  set(merged ${SYNACK_PRELINK_DIR}/lib${name}.o)
  add_custom_command(TARGET ${objects}_static POST_BUILD
    COMMAND ${CMAKE_COMMAND} -E make_directory ${SYNACK_PRELINK_DIR}
    COMMAND ${CMAKE_LINKER} -r -o ${merged} --whole-archive $<TARGET_FILE:${objects}_static>
    COMMAND ${CMAKE_OBJCOPY} --localize-hidden ${merged}
    COMMAND ${CMAKE_COMMAND} -E rm -f $<TARGET_FILE:${objects}_static>
    COMMAND ${CMAKE_AR} rcs $<TARGET_FILE:${objects}_static> ${merged}
    COMMENT "Prelinking lib${name}.a: only the public API stays global"
    VERBATIM)
  add_library(synack::${export}_static ALIAS ${objects}_static)

  install(TARGETS ${objects}_shared ${objects}_static EXPORT synackTargets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
endfunction()

synack_installed_library(synack_core synack synack)
synack_installed_library(synack_drivers synack-drivers drivers)
synack_installed_library(synack_socket synack-socket socket)
# The drivers need the core, libpcap (capture files: drivers/pcap, the simulator's
# capture) and threads (the in-process link's mutex; part of libc since glibc 2.34, a
# library before); the core needs libc alone.
target_link_libraries(synack_drivers_shared PUBLIC synack_core_shared
  PRIVATE PkgConfig::PCAP Threads::Threads)
target_link_libraries(synack_drivers_static INTERFACE synack_core_static ${PCAP_LIBRARIES} -pthread)
# The sockets need the drivers (links) and threads.
target_link_libraries(synack_socket_shared PUBLIC synack_drivers_shared PRIVATE Threads::Threads)
target_link_libraries(synack_socket_static INTERFACE synack_drivers_static -pthread)

install(DIRECTORY include/synack DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS synack RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The CMake package: find_package(synack CONFIG) with a version check (same major version).
set(SYNACK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/synack)
install(EXPORT synackTargets NAMESPACE synack:: DESTINATION ${SYNACK_CMAKE_DIR})
configure_package_config_file(cmake/synackConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/synackConfig.cmake INSTALL_DESTINATION ${SYNACK_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/synackConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/synackConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/synackConfigVersion.cmake DESTINATION ${SYNACK_CMAKE_DIR})

# The pkg-config files are written when installing, not when configuring: their prefix
# is the one installed to, which `cmake --install --prefix P` chooses only then.
# Libs.private of synack-drivers.pc: libpcap (and -pthread, in the template), for a static link (-L only where the linker
# would not look anyway).
set(pcap_flags ${PCAP_LIBRARIES})
list(TRANSFORM pcap_flags PREPEND -l)
foreach(dir ${PCAP_LIBRARY_DIRS})
  if(NOT dir IN_LIST CMAKE_C_IMPLICIT_LINK_DIRECTORIES)
    list(PREPEND pcap_flags -L${dir})
  endif()
endforeach()
list(JOIN pcap_flags " " SYNACK_PC_PCAP)
install(CODE "
  set(SYNACK_PC_VERSION \"${PROJECT_VERSION}\")
  set(SYNACK_PC_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(SYNACK_PC_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(SYNACK_PC_PCAP \"${SYNACK_PC_PCAP}\")
  set(SYNACK_PC_STAGE \"${CMAKE_CURRENT_BINARY_DIR}/pkgconfig\")
  include(\"${CMAKE_CURRENT_LIST_DIR}/pkgconfig.cmake\")")
