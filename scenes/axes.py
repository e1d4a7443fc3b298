"""Axis conventions between the scene spec (MuJoCo, z-up) and glTF / habitat-sim (y-up).

Scene spec and MuJoCo: right-handed, +z up; an object's yaw turns it about +z; the infant's head looks along +x
at yaw 0. glTF and habitat-sim: right-handed, +y up, -z is "forward" (a camera with identity orientation looks
along -z with +y up in its image, which is also MuJoCo's camera convention).

The conversion is the proper rotation by -90° about x::

    (x, y, z)_zup  ->  (x, z, -y)_yup

so it keeps handedness (det = +1): a z-up point p maps to ``C @ p``, a world-frame rotation R maps to
``C @ R @ C.T`` (as a quaternion: ``Q_ZUP_TO_YUP * q * Q_ZUP_TO_YUP.conj()``), a yaw about +z becomes the same
angle about +y, and a mesh expressed in an object's own z-up frame is exported with its vertices multiplied by C.
Quaternions are (w, x, y, z) arrays at the interface; numpy-quaternion does the algebra.
"""

from __future__ import annotations

import math

import numpy as np
import quaternion  # numpy-quaternion

ZUP_TO_YUP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
"""Rotation matrix C taking z-up coordinates to y-up coordinates."""
Q_ZUP_TO_YUP = quaternion.from_rotation_matrix(ZUP_TO_YUP)
"""C as a unit quaternion (-90° about x)."""

# MuJoCo camera in the infant's head: the head looks along +x with +z up; a camera looks along its -z with +y up.
_CAM_IN_HEAD = quaternion.from_rotation_matrix(np.array([[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))


def _q(wxyz: np.ndarray | tuple[float, ...]) -> quaternion.quaternion:
    w, x, y, z = (float(v) for v in wxyz)
    return quaternion.quaternion(w, x, y, z)


def _wxyz(q: quaternion.quaternion) -> np.ndarray:
    q = q.normalized()
    arr = quaternion.as_float_array(q)
    return -arr if arr[0] < 0 else arr  # one canonical sign: w >= 0


def points_to_yup(points: np.ndarray) -> np.ndarray:
    """Convert z-up points or vectors (..., 3) to y-up."""
    return np.asarray(points, np.float64) @ ZUP_TO_YUP.T


def points_to_zup(points: np.ndarray) -> np.ndarray:
    """Convert y-up points or vectors (..., 3) back to z-up."""
    return np.asarray(points, np.float64) @ ZUP_TO_YUP


def quat_to_yup(wxyz: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """A world-frame rotation (w, x, y, z) given in z-up coordinates, expressed in y-up coordinates."""
    return _wxyz(Q_ZUP_TO_YUP * _q(wxyz) * Q_ZUP_TO_YUP.conj())


def quat_to_zup(wxyz: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """Inverse of :func:`quat_to_yup`."""
    return _wxyz(Q_ZUP_TO_YUP.conj() * _q(wxyz) * Q_ZUP_TO_YUP)


def yaw_quat_zup(yaw: float) -> np.ndarray:
    """(w, x, y, z) of a rotation by ``yaw`` about +z (the scene spec's object yaw)."""
    return np.array([math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])


def yaw_quat_yup(yaw: float) -> np.ndarray:
    """(w, x, y, z) of a spec yaw in y-up coordinates: the same angle about +y."""
    return quat_to_yup(yaw_quat_zup(yaw))


def yaw_from_quat_yup(wxyz: np.ndarray | tuple[float, ...]) -> float:
    """Heading (spec yaw, radians) of a y-up rotation, from where it sends the z-up +x axis."""
    rot = quaternion.as_rotation_matrix(_q(wxyz))
    fwd = points_to_zup(rot @ points_to_yup(np.array([1.0, 0.0, 0.0])))
    return math.atan2(fwd[1], fwd[0])


def pose_to_yup(pos: tuple[float, float, float] | np.ndarray, yaw: float) -> tuple[np.ndarray, np.ndarray]:
    """A spec object pose (z-up position, yaw about z) as a y-up (translation, rotation wxyz)."""
    return points_to_yup(np.asarray(pos, np.float64)), yaw_quat_yup(yaw)


def eye_quat_zup(yaw: float, pitch: float) -> np.ndarray:
    """The infant head's orientation in z-up (heading ``yaw``, looking ``pitch`` up), as in the MuJoCo compiler."""
    head = _q(yaw_quat_zup(yaw)) * quaternion.quaternion(math.cos(-pitch / 2), 0.0, math.sin(-pitch / 2), 0.0)
    return _wxyz(head)


def camera_pose_yup(position: np.ndarray | tuple[float, float, float], yaw: float,
                    pitch: float) -> tuple[np.ndarray, np.ndarray]:
    """World pose in y-up (position, rotation wxyz) of a camera (looks along its -z, +y up in the image) at the
    infant's eye ``position`` (z-up) with heading ``yaw`` and ``pitch`` up. Used by the habitat backend's
    sensors; the same pose placed in a y-up MuJoCo world renders the same view."""
    cam_zup = _q(eye_quat_zup(yaw, pitch)) * _CAM_IN_HEAD
    return points_to_yup(np.asarray(position, np.float64)), _wxyz(Q_ZUP_TO_YUP * cam_zup)


def vertical_to_horizontal_fov(fovy_deg: float, width: int, height: int) -> float:
    """Horizontal field of view (degrees; habitat's ``hfov``) of a pinhole camera with vertical ``fovy_deg``."""
    return math.degrees(2.0 * math.atan(math.tan(math.radians(fovy_deg) / 2.0) * width / height))


__all__ = [
    "Q_ZUP_TO_YUP", "ZUP_TO_YUP", "camera_pose_yup", "eye_quat_zup", "points_to_yup", "points_to_zup",
    "pose_to_yup", "quat_to_yup", "quat_to_zup", "vertical_to_horizontal_fov", "yaw_from_quat_yup",
    "yaw_quat_yup", "yaw_quat_zup",
]
