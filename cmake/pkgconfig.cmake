# Run by `cmake --install` (install.cmake sets the SYNACK_PC_* variables): writes
# synack.pc, synack-drivers.pc and synack-socket.pc for the prefix being installed to, and installs them
# (DESTDIR honoured, listed in install_manifest.txt).
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${SYNACK_PC_${dir}}")
    set(PC_${dir} "${SYNACK_PC_${dir}}")
  else()
    set(PC_${dir} "\${prefix}/${SYNACK_PC_${dir}}")
  endif()
endforeach()
set(PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
foreach(name synack synack-drivers synack-socket)
  configure_file("${CMAKE_CURRENT_LIST_DIR}/${name}.pc.in" "${SYNACK_PC_STAGE}/${name}.pc" @ONLY)
  file(INSTALL "${SYNACK_PC_STAGE}/${name}.pc"
    DESTINATION "${CMAKE_INSTALL_PREFIX}/${SYNACK_PC_LIBDIR}/pkgconfig")
endforeach()
