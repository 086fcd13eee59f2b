@auth
Feature: Authentication
  The agent logs the user in with Link's device flow: it shows a URL and a
  phrase, the user approves on Link's page, and the client keeps the session.

  @AUTH-01
  Scenario: Status without a session says not authenticated
    Given a user who is not logged in
    When the agent runs "auth status"
    Then it succeeds
    And the output field "authenticated" is "false"
    And no request reached Link's API

  @AUTH-02 @polling
  Scenario: Login shows a verification URL and a phrase, then ends authenticated
    Given a user who is not logged in
    When the agent starts "auth login --client-name 'Conformance Bot'"
    Then the first object has a "verification_url" starting with "{link}/"
    And the first object has a non-empty "phrase"
    And Link shows the login's connection label starting with "Conformance Bot"
    When the user approves the login
    And the agent finishes the login
    Then it succeeds
    And the output field "authenticated" is "true"
    When the agent runs "auth status"
    Then the output field "authenticated" is "true"

  @AUTH-03 @polling
  Scenario: Login polls at the server's interval until the user acts
    Given Link asks clients to wait 1 second between login polls
    And the user will approve the next login after 2 polls
    When the agent starts "auth login --client-name 'Patient Bot'"
    And the agent finishes the login
    Then it succeeds
    And the output field "authenticated" is "true"
    And the agent polled Link's token endpoint no faster than every 1 second

  @AUTH-03 @polling
  Scenario: Login backs off by 5 more seconds when Link answers slow_down
    Given Link asks clients to wait 1 second between login polls
    And Link will answer the first poll of the next login with slow_down
    When the agent starts "auth login --client-name 'Patient Bot'"
    And the user approves the login
    And the agent finishes the login
    Then it succeeds
    And the output field "authenticated" is "true"
    And after slow_down the agent waited at least 6 seconds before polling again

  @AUTH-04 @polling
  Scenario: The user denies the login
    Given a user who is not logged in
    When the agent starts "auth login --client-name 'Conformance Bot'"
    And the user denies the login
    And the agent finishes the login
    Then it fails with an error
    When the agent runs "auth status"
    Then the output field "authenticated" is "false"

  @AUTH-05 @polling
  Scenario: The login code expires before the user acts
    Given a user who is not logged in
    When the agent starts "auth login --client-name 'Conformance Bot'"
    And the login code expires before the user acts
    And the agent finishes the login
    Then it fails with an error
    When the agent runs "auth status"
    Then the output field "authenticated" is "false"

  @AUTH-06
  Scenario: Status when logged in says authenticated
    Given a logged-in user with a default card
    When the agent runs "auth status"
    Then it succeeds
    And the output field "authenticated" is "true"
    And the output reveals no secret

  @AUTH-06 @update-feed
  Scenario: Status announces a newer client version from the update feed
    Given a logged-in user with a default card
    And a newer client version "99.0.0" is published on the update feed
    When the agent runs "auth status"
    Then it succeeds
    And the output announces version "99.0.0" with an update command

  @AUTH-07
  Scenario: Logout forgets the session and revokes it at Link
    Given a logged-in user with a default card
    When the agent runs "auth logout"
    Then it succeeds
    And Link received "POST /device/revoke"
    And the tokens the client held no longer work at Link
    When the agent runs "auth status"
    Then the output field "authenticated" is "false"

  @AUTH-08
  Scenario: An expired access token is refreshed once and rotated
    Given a logged-in user with a default card
    And the access token has expired
    When the agent runs "payment-methods list"
    Then it succeeds
    And the client refreshed its token once and the refresh token rotated

  @AUTH-09 @spend @polling
  Scenario: The session is revoked while the agent waits for approval, and a new login resumes
    Given a logged-in user with a default card
    And a card spend request pending approval
    When the agent starts "spend-request retrieve {id} --interval 0.2 --max-attempts 300"
    And the user's session is revoked at Link once the agent has checked the spend request 2 times
    And the agent's command finishes
    Then it fails with an error
    When the agent logs out and logs in again
    And the user approves the spend request
    And the agent runs "spend-request retrieve {id}"
    Then it succeeds
    And the output field "status" is "approved"

  @AUTH-10 @errors
  Scenario Outline: API commands without a session send nothing: <command>
    Given a user who is not logged in
    When the agent runs "<command>"
    Then it fails with "NOT_AUTHENTICATED"
    And no request reached Link

    Examples:
      | command                       |
      | payment-methods list          |
      | spend-request list            |
      | spend-request retrieve lsrq_1 |
