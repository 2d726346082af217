-- One statement for every signed-in request's checks and scope (staff.selectors,
-- staff.scope): the account, its latest password record, its role names, the sites it
-- works at with their agencies, and every site of those agencies. The parameter is the
-- account's id; tables are named by their models (langzhong_si.sqltext).
SELECT u.*,
    (SELECT p.set_at FROM {staff.PasswordRecord} p WHERE p.user_id = u.id
        ORDER BY p.set_at DESC, p.id DESC LIMIT 1) AS password_set_at,
    (SELECT p.set_by_id FROM {staff.PasswordRecord} p WHERE p.user_id = u.id
        ORDER BY p.set_at DESC, p.id DESC LIMIT 1) AS password_set_by,
    ARRAY(SELECT g.name FROM {auth.Group} g JOIN {auth.User_groups} m ON m.group_id = g.id
        WHERE m.user_id = u.id) AS role_names,
    ARRAY(SELECT ARRAY[s.id, s.agency_id] FROM {sites.Site} s
        JOIN {staff.StaffProfile_sites} w ON w.site_id = s.id
        JOIN {staff.StaffProfile} f ON f.id = w.staffprofile_id
        WHERE f.user_id = u.id ORDER BY s.id) AS own_sites,
    ARRAY(SELECT a.id FROM {sites.Site} a WHERE a.agency_id IN (
        SELECT s.agency_id FROM {sites.Site} s JOIN {staff.StaffProfile_sites} w ON w.site_id = s.id
        JOIN {staff.StaffProfile} f ON f.id = w.staffprofile_id WHERE f.user_id = u.id)
        ORDER BY a.id) AS agency_site_ids
FROM {auth.User} u WHERE u.id = %s
